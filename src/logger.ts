import { pino, type Logger } from 'pino';

export function createLogger(level: string): Logger {
  // Secrets never reach the logs: redact auth headers and keys wherever they appear.
  return pino({ level, redact: ['req.headers.authorization', '*.ingestKey', '*.apiKey', '*.password'] });
}
