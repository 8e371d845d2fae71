import { ApiError } from '../client/api-client.ts';
import { ConfigError } from '../config.ts';
import { CliFailure } from './cli-failure.ts';
import { buildProgram } from './program.ts';

// Expected failures (bad input, an HTTP 4xx, an API out of reach) are one message on stderr; a stack trace means a bug.
buildProgram()
  .parseAsync()
  .catch((error: unknown) => {
    if (error instanceof ConfigError || error instanceof CliFailure || error instanceof ApiError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(error instanceof ConfigError ? 2 : error instanceof CliFailure ? error.exitCode : 1);
    }
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  });
