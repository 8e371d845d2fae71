import { z } from 'zod';
import { ONRAMP_MESSAGE_ID_HEADER } from '../../mail/mailer.ts';
import type { ReportedEmail } from './email-recipient.ts';

/**
 * What Onramp reads of an Amazon SES notification, the `Message` of an SNS notification
 * (https://docs.aws.amazon.com/ses/latest/dg/notification-contents.html): identity notifications
 * name it `notificationType`, event publishing through a configuration set `eventType`. A
 * `Permanent` bounce is hard (the address does not exist); `Transient` and `Undetermined` ones are
 * soft (recorded only); a complaint is a recipient's spam report; deliveries are acknowledged.
 */
const recipient = z.object({ emailAddress: z.string().min(3).max(320) });
const instant = z.iso.datetime({ offset: true });

export const sesNotification = z
  .object({
    notificationType: z.string().max(64).optional(),
    eventType: z.string().max(64).optional(),
    mail: z.object({
      messageId: z.string().max(256),
      headers: z.array(z.object({ name: z.string(), value: z.string() })).optional(),
      commonHeaders: z.object({ messageId: z.string().max(998).optional() }).optional(),
    }),
    bounce: z
      .object({
        bounceType: z.enum(['Permanent', 'Transient', 'Undetermined']),
        bounceSubType: z.string().max(64),
        bouncedRecipients: z.array(recipient.extend({ diagnosticCode: z.string().optional(), status: z.string().optional() })).min(1),
        timestamp: instant,
      })
      .optional(),
    complaint: z
      .object({
        complainedRecipients: z.array(recipient).min(1),
        timestamp: instant,
        complaintFeedbackType: z.string().max(100).optional(),
      })
      .optional(),
  })
  .refine((n) => (n.notificationType ?? n.eventType) !== undefined, { message: 'a notification needs notificationType (or eventType)', path: ['notificationType'] })
  .refine((n) => (n.notificationType ?? n.eventType) !== 'Bounce' || n.bounce !== undefined, { message: 'a Bounce notification needs bounce', path: ['bounce'] })
  .refine((n) => (n.notificationType ?? n.eventType) !== 'Complaint' || n.complaint !== undefined, { message: 'a Complaint notification needs complaint', path: ['complaint'] });

export type SesNotification = z.infer<typeof sesNotification>;

/** One report per recipient, before the recipient is known as a developer. */
export interface EmailReport {
  /** Onramp's event id: the provider's id for the report (SNS MessageId, SendGrid sg_event_id), namespaced. */
  id: string;
  type: 'email.bounced' | 'email.complained';
  occurredAt: string;
  email: ReportedEmail;
  properties: Record<string, string>;
}

/** The bounces and complaints of one SES notification (none for a delivery or any other type), ids `ses:<SNS MessageId>:<recipient index>`. */
export function sesReports(snsMessageId: string, notification: SesNotification): EmailReport[] {
  const type = notification.notificationType ?? notification.eventType;
  const { mail } = notification;
  const header = mail.headers?.find((h) => h.name.toLowerCase() === ONRAMP_MESSAGE_ID_HEADER.toLowerCase())?.value;
  const messageIds = [header, mail.commonHeaders?.messageId];
  if (type === 'Bounce') {
    const bounce = notification.bounce!;
    return bounce.bouncedRecipients.map((r, i) => ({
      id: `ses:${snsMessageId}:${i}`,
      type: 'email.bounced',
      occurredAt: bounce.timestamp,
      email: { messageIds, address: r.emailAddress },
      properties: {
        provider: 'ses',
        bounceType: bounce.bounceType === 'Permanent' ? 'hard' : 'soft',
        reason: [bounce.bounceSubType, r.diagnosticCode].filter(Boolean).join(': ').slice(0, 1000),
      },
    }));
  }
  if (type === 'Complaint') {
    const complaint = notification.complaint!;
    return complaint.complainedRecipients.map((r, i) => ({
      id: `ses:${snsMessageId}:${i}`,
      type: 'email.complained',
      occurredAt: complaint.timestamp,
      email: { messageIds, address: r.emailAddress },
      properties: { provider: 'ses', ...(complaint.complaintFeedbackType ? { feedbackType: complaint.complaintFeedbackType } : {}) },
    }));
  }
  return [];
}
