import { z } from 'zod';
import type { EmailReport } from './ses-notification.ts';

/**
 * What Onramp reads of SendGrid's Event Webhook (https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/event):
 * a JSON array of events. A `bounce` event of `type: bounce` is a hard bounce (the receiving
 * server refused the address for good); `type: blocked` a soft one (refused for now, recorded
 * only); a `spamreport` is a complaint. Every other event (processed, delivered, deferred,
 * dropped, open, click …) is acknowledged and skipped.
 */
export const sendgridEvent = z.object({ event: z.string().max(64) });

const REPORTED = new Set(['bounce', 'spamreport']);

export const sendgridReport = z.object({
  event: z.enum(['bounce', 'spamreport']),
  email: z.string().min(3).max(320),
  timestamp: z.int().nonnegative(),
  sg_event_id: z.string().min(1).max(256),
  'smtp-id': z.string().max(998).optional(),
  type: z.string().max(32).optional(),
  reason: z.string().optional(),
  bounce_classification: z.string().max(100).optional(),
});

export const isReported = (event: { event: string }): boolean => REPORTED.has(event.event);

/** A bounce or spam report as a report (id `sendgrid:<sg_event_id>`, unique per event, kept across SendGrid's retries). */
export function sendgridReportOf(event: z.infer<typeof sendgridReport>): EmailReport {
  const base = {
    id: `sendgrid:${event.sg_event_id}`,
    occurredAt: new Date(event.timestamp * 1000).toISOString(),
    // smtp-id: the Message-ID header as SendGrid received the message (Onramp's own for a nudge).
    email: { messageIds: [event['smtp-id']], address: event.email },
  };
  if (event.event === 'spamreport') return { ...base, type: 'email.complained', properties: { provider: 'sendgrid' } };
  return {
    ...base,
    type: 'email.bounced',
    properties: {
      provider: 'sendgrid',
      bounceType: event.type === 'blocked' ? 'soft' : 'hard',
      reason: [event.bounce_classification, event.reason].filter(Boolean).join(': ').slice(0, 1000),
    },
  };
}
