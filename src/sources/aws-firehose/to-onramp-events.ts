import type { FieldError } from '../../api/error-handler.ts';
import { ingestEvent, type IngestEvent } from '../../events/event-schemas.ts';
import { formatPath } from '../../rules/config-file.ts';
import { requestMode } from '../request-mode.ts';
import { accessLogLine } from './access-log.ts';

type Path = (string | number)[];

/** Onramp's id for an API Gateway request, namespaced: no other source's ids collide with it. */
export const eventIdOf = (requestId: string) => `aws:${requestId}`;

/**
 * Firehose records (base64 access log lines, a record may end in a newline or hold several) →
 * `api.request` events; an error names the record (`records[3]`, `records[3].status`; a record of several lines adds the line: `records[3][1].status`). The
 * developer: the authorizer's principalId, else the API key through the api_key → developer join.
 */
export function toOnrampEvents(records: readonly { data: string }[], { mode }: { mode: string | undefined }) {
  const events: IngestEvent[] = [];
  const errors: FieldError[] = [];
  records.forEach((record, index) => {
    const lines = Buffer.from(record.data, 'base64')
      .toString('utf8')
      .split('\n')
      .filter((line) => line.trim() !== '');
    if (lines.length === 0) errors.push({ path: formatPath(['records', index]), message: 'an empty record' });
    lines.forEach((line, lineIndex) => {
      const at = (path: readonly PropertyKey[], message: string) =>
        errors.push({ path: formatPath(['records', index, ...(lines.length > 1 ? [lineIndex] : []), ...(path as Path)]), message });
      let json: unknown;
      try {
        json = JSON.parse(line);
      } catch {
        return at([], 'not a JSON access log line: use the access log format of the guide');
      }
      const log = accessLogLine.safeParse(json);
      if (!log.success) return log.error.issues.forEach((issue) => at(issue.path, issue.message));
      const { requestId, requestTimeEpoch, httpMethod, resourcePath, status, apiKey, principalId, userAgent, responseLatency } = log.data;
      const event = ingestEvent.safeParse({
        id: eventIdOf(requestId),
        type: 'api.request',
        ...(principalId ? { developerId: principalId } : {}),
        occurredAt: new Date(requestTimeEpoch).toISOString(),
        properties: {
          ...(apiKey ? { apiKey } : {}),
          endpoint: resourcePath,
          method: httpMethod,
          status,
          userAgent,
          mode: requestMode(mode, apiKey),
          latencyMs: responseLatency,
        },
      });
      if (!event.success) return event.error.issues.forEach((issue) => at(AWS_FIELD[String(issue.path.at(-1))] ?? issue.path, messageOf(issue)));
      events.push(event.data);
    });
  });
  return { events, errors };
}

function messageOf(issue: { path: readonly PropertyKey[]; message: string }): string {
  return issue.path.length === 1 && issue.path[0] === 'developerId'
    ? 'needs a principalId (an authorizer’s: the developerId) or an apiKey (a method requiring an API key) to attribute it'
    : issue.message;
}

/** The log line's field an Onramp field came from (for errors). */
const AWS_FIELD: Record<string, Path> = {
  developerId: ['principalId'],
  endpoint: ['resourcePath'],
  method: ['httpMethod'],
  occurredAt: ['requestTimeEpoch'],
  latencyMs: ['responseLatency'],
  id: ['requestId'],
};
