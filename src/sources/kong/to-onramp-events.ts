import { createHash } from 'node:crypto';
import type { FieldError } from '../../api/error-handler.ts';
import { ingestEvent, type IngestEvent } from '../../events/event-schemas.ts';
import { formatPath } from '../../rules/config-file.ts';
import { requestMode } from '../request-mode.ts';
import { kongLogEntry, type KongLogEntry } from './kong-log.ts';

type Path = (string | number)[];

const header = (headers: Record<string, string | string[]>, name: string) => {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
};

/**
 * Onramp's id for a logged request, namespaced: Kong's request id (`request.id`, else the
 * `x-kong-request-id` response header); a Kong too old for either gets a digest of what identifies
 * the request (start, client, method, URL), the same on every resend of the entry.
 */
export function eventIdOf(entry: KongLogEntry): string {
  const kongId = entry.request.id ?? header(entry.response.headers, 'x-kong-request-id');
  if (kongId) return `kong:${kongId}`;
  const identity = [entry.started_at, entry.client_ip ?? '', entry.request.method, entry.request.url ?? entry.request.uri].join('\n');
  return `kong:sha256-${createHash('sha256').update(identity).digest('hex').slice(0, 32)}`;
}

/**
 * Kong log entries → `api.request` events, each validated as an entry and by the ingest contract;
 * an error names the entry's own field (`[3].response.status`). The developer: the consumer's
 * `custom_id`, else the key the request presented (`apikey` header, key-auth's default) through
 * the api_key → developer join. The endpoint: the path without its query string.
 */
export function toOnrampEvents(entries: readonly unknown[], { modeHeader, prefix }: { modeHeader: string | string[] | undefined; prefix: (index: number) => Path }) {
  const events: IngestEvent[] = [];
  const errors: FieldError[] = [];
  entries.forEach((raw, index) => {
    const at = (path: readonly PropertyKey[], message: string) => errors.push({ path: formatPath([...prefix(index), ...(path as Path)]), message });
    const entry = kongLogEntry.safeParse(raw);
    if (!entry.success) return entry.error.issues.forEach((issue) => at(issue.path, issue.message));
    const { request, response, consumer, latencies, started_at } = entry.data;
    const apiKey = header(request.headers, 'apikey');
    const event = ingestEvent.safeParse({
      id: eventIdOf(entry.data),
      type: 'api.request',
      ...(consumer?.custom_id ? { developerId: consumer.custom_id } : {}),
      occurredAt: new Date(started_at).toISOString(),
      properties: {
        ...(apiKey ? { apiKey } : {}),
        endpoint: request.uri.split('?')[0],
        method: request.method,
        status: response.status,
        userAgent: header(request.headers, 'user-agent'),
        mode: requestMode(modeHeader, apiKey),
        latencyMs: latencies?.request,
      },
    });
    if (!event.success) return event.error.issues.forEach((issue) => at(KONG_FIELD[String(issue.path.at(-1))] ?? issue.path, messageOf(issue)));
    events.push(event.data);
  });
  return { events, errors };
}

function messageOf(issue: { path: readonly PropertyKey[]; message: string }): string {
  return issue.path.length === 1 && issue.path[0] === 'developerId'
    ? 'needs a consumer with a custom_id (the developerId), or an apikey request header to attribute it through the key'
    : issue.message;
}

/** The entry's field an Onramp field came from (for errors). */
const KONG_FIELD: Record<string, Path> = {
  developerId: ['consumer', 'custom_id'],
  apiKey: ['request', 'headers', 'apikey'],
  endpoint: ['request', 'uri'],
  method: ['request', 'method'],
  userAgent: ['request', 'headers', 'user-agent'],
  occurredAt: ['started_at'],
  id: ['request', 'id'],
};
