/**
 * The packages only Onramp's servers, sandboxes and emails need (every one CommonJS, so a probe of
 * `require.cache` sees them). Building the `onramp` program, and running a client command, must
 * load none: they load when `start`, `api`, `worker` or a preview runs.
 */
export const SERVER_PACKAGES = [
  '@temporalio/worker',
  '@temporalio/testing',
  '@temporalio/client',
  'fastify',
  'pg',
  '@prisma/client',
  '@slack/web-api',
  'mjml',
  'nodemailer',
  'webpack',
  'pino',
];

/** The package of each file under node_modules in a list of module paths. */
export const packagesOf = (paths: string[]): string[] => [
  ...new Set(paths.map((path) => path.match(/node_modules\/((@[^/]+\/)?[^/]+)/)?.[1]).filter((name) => name !== undefined)),
];

/** A CommonJS file for `node --require`: on exit, prints the paths of the CommonJS modules loaded, as one JSON line on stderr after `LOADED:`. */
export const LOADED_MODULES_PROBE = "process.on('exit', () => process.stderr.write('LOADED:' + JSON.stringify(Object.keys(require.cache)) + '\\n'));\n";

/** The module paths a run with `LOADED_MODULES_PROBE` printed. */
export const loadedModules = (stderr: string): string[] =>
  JSON.parse(
    stderr
      .split('\n')
      .find((line) => line.startsWith('LOADED:'))!
      .slice('LOADED:'.length),
  ) as string[];
