import { ConfigError } from '../config.ts';
import { buildProgram } from './program.ts';

buildProgram()
  .parseAsync()
  .catch((error: unknown) => {
    process.stderr.write(error instanceof ConfigError ? `${error.message}\n` : `${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(error instanceof ConfigError ? 2 : 1);
  });
