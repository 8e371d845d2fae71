import { z } from 'zod';
import type { PrismaClient } from '../generated/prisma/client.ts';

const instant = z.string().describe('ISO-8601 UTC');

/** One nudge decision, with the email when it was sent: "why did, or didn't, this developer get an email". */
export const nudgeMessage = z.object({
  nudgeKey: z.string().describe('`<ruleId>#<occurrence>`: the rows of one nudge share it'),
  ruleId: z.string(),
  ruleVersion: z.int(),
  outcome: z.enum(['sent', 'scheduled', 'cancelled', 'skipped', 'escalated']),
  reason: z
    .string()
    .nullable()
    .describe(
      'why it was skipped, scheduled or cancelled (consent, holdout, human_owned, frequency_cap, quiet_hours, segment, stage_left …; for escalated, the reason the rule gives)',
    ),
  template: z.string().nullable(),
  segment: z.record(z.string(), z.unknown()),
  inputs: z.record(z.string(), z.unknown()).describe('what the decision was made on'),
  decidedAt: instant,
  scheduledFor: instant.nullable(),
  experiment: z
    .object({ id: z.string(), variant: z.string().nullable().describe("null: the holdout, the experiment's control") })
    .nullable()
    .describe("the experiment the rule runs and the developer's arm in it; null for a rule without one"),
  email: z.object({ subject: z.string(), transport: z.string(), status: z.string(), sentAt: instant.nullable(), messageId: z.string().nullable() }).nullable(),
});

export const messagesResponse = z.object({ developerId: z.string(), messages: z.array(nudgeMessage) });

export type NudgeMessage = z.infer<typeof nudgeMessage>;

/** A developer's nudge decisions in the order they were made, each sent one with its email. */
export async function readMessages(prisma: PrismaClient, developerId: string): Promise<NudgeMessage[]> {
  const [decisions, emails] = await Promise.all([
    prisma.nudgeDecision.findMany({ where: { developerId }, orderBy: [{ decidedAt: 'asc' }, { id: 'asc' }] }),
    prisma.email.findMany({ where: { developerId } }),
  ]);
  const byNudge = new Map(emails.map((e) => [e.id.slice(developerId.length + 1), e]));
  return decisions.map((d) => {
    const email = d.outcome === 'sent' ? byNudge.get(d.nudgeKey) : undefined;
    return {
      nudgeKey: d.nudgeKey,
      ruleId: d.ruleId,
      ruleVersion: d.ruleVersion,
      outcome: d.outcome as NudgeMessage['outcome'],
      reason: d.reason,
      template: d.template,
      segment: d.segment as Record<string, unknown>,
      inputs: d.inputs as Record<string, unknown>,
      decidedAt: d.decidedAt.toISOString(),
      scheduledFor: d.scheduledFor?.toISOString() ?? null,
      experiment: d.experimentId === null ? null : { id: d.experimentId, variant: d.variantId },
      email: email ? { subject: email.subject, transport: email.transport, status: email.status, sentAt: email.sentAt?.toISOString() ?? null, messageId: email.messageId } : null,
    };
  });
}
