// Lint guards for the deterministic core: workflow code and the machine it runs may do no I/O
// (no Node built-ins, no database or network clients) and must not drop promises on the floor.
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const deterministic = ['workflows/**/*.ts', 'src/journey/**/*.ts'];

export default tseslint.config(
  { ignores: ['**/*', '!workflows/**', '!src/', '!src/journey/**'] },
  {
    files: deterministic,
    extends: [tseslint.configs.base],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      'no-restricted-imports': [
        'error',
        {
          paths: [...builtinModules, ...builtinModules.map((m) => `node:${m}`)].map((name) => ({ name, message: 'workflow code does no I/O' })),
          patterns: [
            { group: ['pg', '@prisma/*', '**/generated/**', '**/db/**', '@temporalio/client', '@temporalio/worker', '@temporalio/activity', 'nodemailer', '@slack/*'], message: 'workflow code does no I/O: ask for an effect instead' },
          ],
        },
      ],
      'no-restricted-globals': ['error', { name: 'setTimeout', message: 'use Temporal timers / deadlines in context' }, { name: 'setInterval', message: 'use Temporal timers' }],
    },
  },
);
