import { pino, type DestinationStream, type Logger } from 'pino';
import { PinoPretty } from 'pino-pretty';

/** Query parameters that carry a capability or a secret: never logged as sent. */
const SECRET_PARAMS = /token|key|secret|signature|password/i;

/** JSON lines for a log collector; pretty for a person at a terminal. */
export type LogFormat = 'json' | 'pretty';

/** LOG_FORMAT when set; unset, pretty on a terminal and JSON otherwise (a pipe, a file, a container's log). */
export function logFormat(configured: LogFormat | undefined, stdout: { isTTY?: boolean } = process.stdout): LogFormat {
  return configured ?? (stdout.isTTY === true ? 'pretty' : 'json');
}

/** The CLI's logger: LOG_LEVEL, on stdout, in the format LOG_FORMAT names or that suits stdout. */
export function processLogger(config: { LOG_LEVEL: string; LOG_FORMAT?: LogFormat | undefined }): Logger {
  return createLogger(config.LOG_LEVEL, undefined, logFormat(config.LOG_FORMAT));
}

export function createLogger(level: string, destination?: DestinationStream, format: LogFormat = 'json'): Logger {
  // Secrets never reach the logs: redact auth headers and keys wherever they appear; errors go
  // through `serializeError` (the Temporal SDK's log lines name theirs `error`). Pretty printing
  // formats the line pino has already redacted and serialized, in this thread (no transport).
  const options = { level, redact: ['req.headers.authorization', '*.ingestKey', '*.apiKey', '*.password'], serializers: { err: serializeError, error: serializeError } };
  return pino(options, format === 'pretty' ? prettyStream(destination) : destination);
}

/**
 * One line per entry: time, level, message, then the entry's fields as compact JSON; error stacks
 * below. A request line's message already says its method, URL, status and time (request-log.ts):
 * those fields are left to the JSON format.
 */
function prettyStream(destination: DestinationStream | undefined): DestinationStream {
  return PinoPretty({
    destination: destination ?? 1,
    sync: true,
    colorize: destination === undefined && process.stdout.isTTY === true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,req,statusCode,responseTime',
    singleLine: true,
  });
}

/** A PostgreSQL error as node-postgres raises it (`DatabaseError`): a SQLSTATE and a severity. */
interface DatabaseErrorLike extends Error {
  code: string;
  /** Set by `withTransaction`: the failed statement's name, or its first words. */
  statement?: string;
}

function isDatabaseError(error: unknown): error is DatabaseErrorLike {
  const e = error as { code?: unknown; severity?: unknown } | null;
  return error instanceof Error && typeof e?.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) && typeof e.severity === 'string';
}

/** The PostgreSQL error an error stands for: itself, its causes, or Prisma's driver-adapter error. */
function databaseErrorIn(error: unknown, depth = 0): { sqlstate: string; statement?: string } | undefined {
  if (depth > 5 || !(error instanceof Error)) return undefined;
  if (isDatabaseError(error)) return { sqlstate: error.code, ...(error.statement ? { statement: error.statement } : {}) };
  const adapter = (error as { meta?: { driverAdapterError?: { cause?: { originalCode?: unknown } } } }).meta?.driverAdapterError;
  if (typeof adapter?.cause?.originalCode === 'string') return { sqlstate: adapter.cause.originalCode };
  return databaseErrorIn(error.cause, depth + 1);
}

/**
 * Errors as logged. A database error (or one caused by it) is logged as its SQLSTATE and
 * statement name only: PostgreSQL's message, detail and context quote the values it refused
 * (an event's JSON, an email), and they would land in the logs. Others as pino logs them.
 */
export function serializeError(error: unknown): unknown {
  const database = databaseErrorIn(error);
  if (!database) return pino.stdSerializers.err(error as Error);
  const e = error as Error;
  const frames = (e.stack ?? '').split('\n').filter((line) => /^\s+at /.test(line));
  return {
    type: e.constructor.name,
    message: `database error ${database.sqlstate}${database.statement ? ` in ${database.statement}` : ''}`,
    ...database,
    stack: frames.join('\n'),
  };
}

/** A URL as logged: the values of secret-bearing query parameters (the unsubscribe token, …) and email tracking tokens (they name a developer) blanked. */
export function redactUrl(path: string): string {
  const url = path.replace(TRACKING_TOKEN, '$1[redacted]');
  const query = url.indexOf('?');
  if (query === -1) return url;
  const params = new URLSearchParams(url.slice(query + 1));
  let changed = false;
  for (const name of new Set(params.keys())) {
    if (SECRET_PARAMS.test(name)) {
      params.set(name, '[redacted]');
      changed = true;
    }
  }
  return changed ? `${url.slice(0, query)}?${params.toString()}` : url;
}

const TRACKING_TOKEN = /^(\/v1\/t\/[oc]\/)[^?]+/;

/** What a request log line says of a request: method, URL (secrets blanked), client; never headers or body. */
export function requestSummary(req: { method: string; url: string; ip?: string; host?: string }) {
  return { method: req.method, url: redactUrl(req.url), host: req.host, remoteAddress: req.ip };
}
