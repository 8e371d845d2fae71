// Lint for all the code (typescript-eslint's recommended set, no type information), and guards for
// the deterministic core: workflow code and the machine it runs may do no I/O (no Node built-ins,
// no database or network clients) and must not drop promises on the floor.
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const deterministic = ['workflows/**/*.ts', 'src/journey/**/*.ts'];

export default tseslint.config(
  { ignores: ['node_modules/', '.tools/', '.data/', 'dist/', 'coverage/', 'src/generated/', 'bench/results/', 'test-artifacts/', 'test/fixtures/'] },
  {
    files: ['**/*.ts', '**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.recommended],
    rules: {
      // `_name` marks a binding kept on purpose (a destructured field left out, a callback's unused parameter).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    // Tests read untyped JSON bodies and poke at internals through `any`; the code under test may not.
    files: ['test/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: deterministic,
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      'no-restricted-imports': [
        'error',
        {
          paths: [...builtinModules, ...builtinModules.map((m) => `node:${m}`)].map((name) => ({ name, message: 'workflow code does no I/O' })),
          patterns: [
            {
              group: ['pg', '@prisma/*', '**/generated/**', '**/db/**', '@temporalio/client', '@temporalio/worker', '@temporalio/activity', 'nodemailer', '@slack/*'],
              message: 'workflow code does no I/O: ask for an effect instead',
            },
          ],
        },
      ],
      'no-restricted-globals': ['error', { name: 'setTimeout', message: 'use Temporal timers / deadlines in context' }, { name: 'setInterval', message: 'use Temporal timers' }],
    },
  },
);
