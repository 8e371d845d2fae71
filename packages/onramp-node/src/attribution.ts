import type { IncomingHttpHeaders } from 'node:http';

/** Whose request it was and in which mode, read from the host's request object (its own type per framework). */
export interface AttributionOptions<Req> {
  /** The caller's API key (default: the `Authorization: Bearer` token, else the `x-api-key` header). */
  apiKey?: (request: Req) => string | undefined;
  /** The developer, when the host knows them (e.g. from its session); Onramp attributes by key otherwise. */
  developerId?: (request: Req) => string | undefined;
  /** Test or live (default: a key holding a `test_` segment, `sk_test_…`, is test; else live). */
  mode?: (request: Req, apiKey: string | undefined) => 'test' | 'live';
}

/** The default key: a bearer token, else `x-api-key`. */
export function keyFromHeaders(headers: IncomingHttpHeaders): string | undefined {
  const bearer = /^Bearer\s+(\S+)$/i.exec(headers.authorization ?? '')?.[1];
  if (bearer !== undefined) return bearer;
  const header = headers['x-api-key'];
  return (Array.isArray(header) ? header[0] : header) || undefined;
}

/** As Onramp reads a gateway's traffic (its src/sources/request-mode.ts; this package imports nothing of Onramp's): a key with a `test_` segment is test, anything else live. */
export function modeOfKey(apiKey: string | undefined): 'test' | 'live' {
  return apiKey !== undefined && /(^|_)test_/i.test(apiKey) ? 'test' : 'live';
}

/** The attribution of one request, with the defaults filled in. */
export function attribute<Req extends { headers: IncomingHttpHeaders }>(request: Req, options: AttributionOptions<Req>) {
  const apiKey = id(options.apiKey ? options.apiKey(request) : keyFromHeaders(request.headers));
  const developerId = id(options.developerId?.(request));
  const mode = options.mode ? options.mode(request, apiKey) : modeOfKey(apiKey);
  const ua = request.headers['user-agent'];
  return { apiKey, developerId, mode, userAgent: ua };
}

/** An id Onramp takes (1–256 characters, not blank), else none: one bad value must not refuse its whole batch. */
function id(value: string | undefined): string | undefined {
  return value !== undefined && value.length <= 256 && value.trim() !== '' ? value : undefined;
}
