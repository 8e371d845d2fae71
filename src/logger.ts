import { pino, type DestinationStream, type Logger } from 'pino';

/** Query parameters that carry a capability or a secret: never logged as sent. */
const SECRET_PARAMS = /token|key|secret|signature|password/i;

export function createLogger(level: string, destination?: DestinationStream): Logger {
  // Secrets never reach the logs: redact auth headers and keys wherever they appear.
  return pino({ level, redact: ['req.headers.authorization', '*.ingestKey', '*.apiKey', '*.password'] }, destination);
}

/** A URL as logged: the values of secret-bearing query parameters (the unsubscribe token, …) blanked. */
export function redactUrl(url: string): string {
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

/** What a request log line says of a request: method, URL (secrets blanked), client; never headers or body. */
export function requestSummary(req: { method: string; url: string; ip?: string; host?: string }) {
  return { method: req.method, url: redactUrl(req.url), host: req.host, remoteAddress: req.ip };
}
