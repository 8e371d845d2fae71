import type { FastifyRequest } from 'fastify';
import type pg from 'pg';
import { z } from 'zod';
import { ingestEvent, type IngestEvent } from '../../events/event-schemas.ts';
import { ingestFromSource, issueErrors, type SourceIngest } from '../ingest-from-source.ts';
import { developerOfReport } from './email-recipient.ts';
import type { EmailReport } from './ses-notification.ts';

/** What an email provider's delivery is answered with. */
export const reportsAnswer = z.object({
  accepted: z.int(),
  duplicates: z.int(),
  unmatched: z.int().describe('bounces and complaints about an address of no developer Onramp knows: acknowledged, not stored'),
});

export type ReportsAnswer = z.infer<typeof reportsAnswer>;

/**
 * Bounces and complaints as events of the developers they are about (email-recipient.ts), stored
 * as one ingest batch; reports about no known developer are counted as `unmatched`, not stored.
 * A report that makes no valid event is the field errors, and nothing is stored.
 */
export async function ingestReports(
  request: FastifyRequest,
  pool: pg.Pool,
  reports: EmailReport[],
  ingest: SourceIngest,
): Promise<{ answer: ReportsAnswer } | { errors: { path: string; message: string }[] }> {
  const events: IngestEvent[] = [];
  let unmatched = 0;
  for (const [i, report] of reports.entries()) {
    const developer = await developerOfReport(pool, report.email);
    if (!developer) {
      unmatched++;
      continue;
    }
    const event = ingestEvent.safeParse({
      id: report.id,
      type: report.type,
      developerId: developer.developerId,
      occurredAt: report.occurredAt,
      properties: { ...report.properties, ...(developer.messageId ? { messageId: developer.messageId } : {}) },
    });
    if (!event.success) return { errors: issueErrors(event.error.issues, [i]) };
    events.push(event.data);
  }
  // Counted, not an error: a relay also reports on mail Onramp did not send. The address is not logged.
  if (unmatched > 0) request.log.info({ unmatched }, 'email provider reports about no known developer');
  const result = await ingestFromSource(request, events, ingest);
  return { answer: { accepted: result.accepted, duplicates: result.duplicates, unmatched } };
}
