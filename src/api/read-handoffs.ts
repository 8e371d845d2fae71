import { z } from 'zod';
import type { Prisma, PrismaClient } from '../generated/prisma/client.ts';
import { isStorableInstant } from '../events/instant.ts';
import type { CaseView } from '../cases/case-context.ts';
import { pathSafeCaseId } from '../cases/case-id.ts';
import { noteTexts, withNoteText } from '../cases/case-notes.ts';

const instant = z.string().describe('ISO-8601 UTC');

export const CASE_STATUSES = ['open', 'claimed', 'snoozed', 'returned', 'resolved'] as const;

/** A handoff case as people see it (the read model, rewritten at each step). */
export const handoffCase = z.object({
  id: z
    .string()
    .describe(
      '`<developerId>.h<n>`, the developer id escaped to be path-safe (`~XX` for each byte other than letters, digits, `-`, `_`, `.`): usable in `/v1/handoffs/{id}` as it is',
    ),
  developerId: z.string(),
  status: z.enum(CASE_STATUSES),
  criterion: z.string().describe('stall:<id>, support_ticket, error_burst_continued, no_email_engagement or rule:<id>'),
  reason: z.string(),
  rule: z.object({ id: z.string(), version: z.int() }).optional().describe('the nudge rule whose escalate action opened it'),
  policyVersion: z.int(),
  level: z.int().describe('1-based escalation level'),
  owner: z.string().nullable(),
  openedAt: instant,
  claimedAt: instant.nullable(),
  claimDueAt: instant.nullable().describe('while unclaimed: when it moves up a level'),
  resolveDueAt: instant,
  snoozedUntil: instant.nullable(),
  breaches: z.array(z.enum(['claim', 'resolution'])),
  closedAt: instant.nullable(),
  outcome: z.string().nullable(),
  outcomes: z.array(z.string()).describe('what `resolve` may record'),
  officeHours: z
    .object({ claim: z.string().nullable(), resolution: z.string().nullable() })
    .optional()
    .describe("the time zone whose office hours each due time counts in (null: around the clock); present only when the case's policy has office hours"),
  friction: z.string().nullable().describe("the friction the agent recorded on resolve (one of the policy's `frictions`), else null"),
});

export const handoffStep = z.object({
  step: z.string().describe('escalated, ticket, claimed, note, snoozed, snooze_ended, sla_breached, re_escalated, returned, resolved, slack_failed'),
  actor: z.string().nullable(),
  at: instant,
  detail: z.record(z.string(), z.unknown()),
  snapshot: z.record(z.string(), z.unknown()).describe('the journey at that moment'),
});

export const handoffWithLog = handoffCase.extend({ log: z.array(handoffStep) });

export type HandoffWithLog = z.infer<typeof handoffWithLog>;

const slaState = z.object({
  level: z.int().describe('1-based escalation level'),
  claimDueAt: instant.nullable().describe('while unclaimed: when it moves up a level'),
  resolveDueAt: instant.nullable().describe('while open: by when it must be resolved'),
  breaches: z.array(z.enum(['claim', 'resolution'])),
  snoozedUntil: instant.nullable(),
  dueAt: instant.nullable().describe('the next deadline while open (snooze end, claim SLA, resolution SLA): what the queue sorts by'),
  businessHours: z
    .object({ claimDue: z.string().nullable(), resolveDue: z.string().nullable() })
    .optional()
    .describe('due times in office hours as people there read them, e.g. "Mon 2026-12-14 13:00 Europe/Paris" (null: not in office hours, or not due)'),
});

/** What the Slack post shows, from the same builder (gatherWholeCase). */
export const caseContext = z
  .object({
    developer: z.object({
      id: z.string(),
      email: z.string().nullable().describe('masked (`j***@example.com`) unless the escalation policy in force has `privacy.showEmail: true`'),
      accountType: z.string().nullable(),
      orgId: z.string().nullable(),
      channel: z.string().nullable().describe('acquisition channel'),
      timezone: z.string().nullable(),
    }),
    stage: z.object({ id: z.string(), label: z.string() }).nullable(),
    stageReachedAt: instant.nullable(),
    stuckForSeconds: z.int().nullable(),
    timeline: z.array(z.object({ at: instant, what: z.string() })).describe('key events, oldest first: stages reached, nudges, email engagement, tickets'),
    nudges: z.array(z.object({ at: instant, template: z.string().nullable(), ruleId: z.string(), outcome: z.string(), reason: z.string().nullable() })),
    engagement: z.object({ opened: z.int(), clicked: z.int(), segment: z.string() }),
    emailSuppressed: z.string().optional().describe('present when email does not reach them (hard bounce, complaint)'),
    diagnosis: z.array(z.string()).describe('first-session error diagnosis, e.g. "12 × 401 on /v1/charges: credentials used wrongly"'),
    journeyUrl: z.string().describe('the journey as JSON'),
    dashboardUrl: z.string().describe('the journey in the dashboard'),
    inboxUrl: z.string().describe("the agents' inbox page"),
    caseUrl: z.string().describe('this case in the inbox page'),
    escalation: z.object({
      criterion: z.string(),
      reason: z.string(),
      rule: z.object({ id: z.string(), version: z.int() }).optional(),
      policyVersion: z.int(),
      openedAt: instant,
    }),
    sla: slaState,
  })
  .describe('the case as the Slack post shows it');

/** A case in a list: the compact form of its context (gatherCaseSummaries). */
export const caseSummary = z.object({
  stage: z.string().nullable().describe("the stage's label"),
  stuckForSeconds: z.int().nullable(),
  diagnosis: z.string().nullable().describe('the first line of the diagnosis'),
  sla: slaState,
  risk: z.number().nullable().describe("the developer's stagnation risk in their current stage now (0–1; null: unavailable, as `GET /v1/developers/{id}/risk` says why)"),
});

export const handoffWithContext = handoffWithLog.extend({ context: caseContext });
/** One case whole, as `GET /v1/handoffs/{id}` answers: with what a resolve may record as its friction. */
export const wholeCase = handoffWithContext.extend({
  frictions: z.array(z.object({ id: z.string(), label: z.string() })).describe("what a resolve may record as `friction`: the escalation policy in force's frictions"),
});
export const summarizedCase = handoffCase.extend({ summary: caseSummary });

/** The statuses of a case still open: the queue. */
export const ACTIVE_STATUSES = ['open', 'claimed', 'snoozed'] as const;

export const HANDOFF_ORDERS = ['newest', 'due', 'risk'] as const;

/** The statuses `order=risk` sorts: the queue, small enough to read whole. */
export const RISK_ORDERED_STATUSES = [...ACTIVE_STATUSES, 'active'] as const;

export interface HandoffFilter {
  /** One status, or `active`: every case still open. */
  status?: (typeof CASE_STATUSES)[number] | 'active';
  developerId?: string;
  owner?: string;
  level?: number;
  criterion?: string;
  /** Cases with a breached SLA (true) or without (false). */
  breached?: boolean;
  /** `newest` (opened, newest first), `due` (next deadline first, closed cases last) or `risk` (the developer's stagnation risk, highest first: active cases only). */
  order?: (typeof HANDOFF_ORDERS)[number];
  limit: number;
  /** Opaque: the last case of the previous page, in the order asked. */
  cursor?: string;
}

/** Where a page ended: the order, its sort key (null: no deadline, or no risk) and the case id. */
type Cursor = { order: 'newest' | 'due'; at: Date | null; id: string } | { order: 'risk'; risk: number | null; id: string };

const encodeCursor = (cursor: Cursor) =>
  Buffer.from(
    JSON.stringify(
      cursor.order === 'risk'
        ? ['risk', cursor.risk, cursor.id]
        : cursor.order === 'newest'
          ? [cursor.at!.toISOString(), cursor.id]
          : ['due', cursor.at?.toISOString() ?? null, cursor.id],
    ),
  ).toString('base64url');

export function decodeCursor(cursor: string): Cursor | undefined {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    // Pages by opening time keep their first form ([openedAt, id]): cursors handed out before stay valid.
    const [order, at, id] = parsed.length === 2 ? ['newest', ...parsed] : parsed;
    if (typeof id !== 'string' || !HANDOFF_ORDERS.includes(order as Cursor['order'])) return undefined;
    if (order === 'risk') return at === null || (typeof at === 'number' && at >= 0 && at <= 1) ? { order, risk: at, id } : undefined;
    if (at === null) return order === 'due' ? { order, at: null, id } : undefined;
    const instant = new Date(at as string);
    return typeof at === 'string' && isStorableInstant(instant.getTime()) ? { order: order as 'newest' | 'due', at: instant, id } : undefined;
  } catch {
    return undefined;
  }
}

/** The rows after a cursor, in its order (a cursor of another order starts from the top). */
function after(cursor: Cursor | undefined, order: 'newest' | 'due'): Prisma.HandoffWhereInput {
  if (!cursor || cursor.order !== order) return {};
  if (order === 'newest') return { OR: [{ openedAt: { lt: cursor.at! } }, { openedAt: cursor.at!, id: { lt: cursor.id } }] };
  // Deadlines first, earliest first; cases without one after them all.
  if (cursor.at === null) return { dueAt: null, id: { gt: cursor.id } };
  return { OR: [{ dueAt: { gt: cursor.at } }, { dueAt: cursor.at, id: { gt: cursor.id } }, { dueAt: null }] };
}

/** Each developer's stagnation risk now (null: unavailable). */
export type ReadRisks = (developerIds: readonly string[], asOf: Date) => Promise<Map<string, number | null>>;

/** Riskiest first, unavailable risks last, ties by case id: the order of `order=risk` and its cursors. */
function riskOrder(a: { risk: number | null; id: string }, b: { risk: number | null; id: string }): number {
  if (a.risk !== b.risk) return a.risk === null ? 1 : b.risk === null ? -1 : b.risk - a.risk;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Cases a page at a time: newest first, (the queue) next deadline first, or riskiest developer first. */
export async function listHandoffs(prisma: PrismaClient, filter: HandoffFilter, risks?: ReadRisks): Promise<{ handoffs: PresentedCase[]; nextCursor: string | null }> {
  const order = filter.order ?? 'newest';
  const where: Prisma.HandoffWhereInput = {
    ...(filter.status === 'active' ? { status: { in: [...ACTIVE_STATUSES] } } : filter.status ? { status: filter.status } : {}),
    ...(filter.developerId ? { developerId: filter.developerId } : {}),
    ...(filter.owner ? { owner: filter.owner } : {}),
    ...(filter.level !== undefined ? { level: filter.level } : {}),
    ...(filter.criterion ? { criterion: filter.criterion } : {}),
    ...(filter.breached !== undefined ? { slaBreached: filter.breached } : {}),
  };
  if (order === 'risk') return listByRisk(prisma, where, filter, risks!);
  const rows = await prisma.handoff.findMany({
    where: {
      ...where,
      ...after(filter.cursor ? decodeCursor(filter.cursor) : undefined, order),
    },
    orderBy: order === 'newest' ? [{ openedAt: 'desc' }, { id: 'desc' }] : [{ dueAt: { sort: 'asc', nulls: 'last' } }, { id: 'asc' }],
    take: filter.limit + 1,
  });
  const page = rows.slice(0, filter.limit);
  const last = page.at(-1);
  return {
    handoffs: page.map((r) => presentedCase(r.view as unknown as CaseView)),
    nextCursor: rows.length > filter.limit && last ? encodeCursor({ order, at: order === 'newest' ? last.openedAt : last.dueAt, id: last.id }) : null,
  };
}

/**
 * The queue by risk: every case of the filter (active ones: a queue people work through) ranked
 * by its developer's risk now, a page from the cursor's place. Risks move with time, so a page
 * starts after the cursor's (risk, id) in today's ranking: a case whose risk rose past it since is
 * on an earlier page.
 */
async function listByRisk(prisma: PrismaClient, where: Prisma.HandoffWhereInput, filter: HandoffFilter, risks: ReadRisks) {
  const rows = await prisma.handoff.findMany({ where, select: { id: true, developerId: true, view: true } });
  const riskOf = await risks([...new Set(rows.map((r) => r.developerId))], new Date());
  const ranked = rows.map((r) => ({ id: r.id, risk: riskOf.get(r.developerId) ?? null, view: r.view as unknown as CaseView })).sort(riskOrder);
  const cursor = filter.cursor ? decodeCursor(filter.cursor) : undefined;
  const start = cursor?.order === 'risk' ? ranked.findIndex((c) => riskOrder(c, cursor) > 0) : 0;
  const page = ranked.slice(start === -1 ? ranked.length : start, (start === -1 ? ranked.length : start) + filter.limit + 1);
  const shown = page.slice(0, filter.limit);
  const last = shown.at(-1);
  return {
    handoffs: shown.map((c) => presentedCase(c.view)),
    nextCursor: page.length > filter.limit && last ? encodeCursor({ order: 'risk', risk: last.risk, id: last.id }) : null,
  };
}

async function withLogs(prisma: PrismaClient, cases: { id: string; view: unknown }[]): Promise<HandoffWithLog[]> {
  if (cases.length === 0) return [];
  const found = await prisma.handoffStep.findMany({ where: { handoffId: { in: cases.map((c) => c.id) } } });
  // In the order the case took them: step keys are `<caseId>/<n>` (`…/<n>/slack_failed` after step n).
  const order = (key: string) => Number(/\/(\d+)(\/slack_failed)?$/.exec(key)?.[1] ?? 0) + (key.endsWith('/slack_failed') ? 0.5 : 0);
  const steps = found.sort((a, b) => order(a.stepKey) - order(b.stepKey));
  const notes = await noteTexts(
    prisma,
    steps.map((s) => s.detail as Record<string, unknown>),
  );
  return cases.map((c) => ({
    ...presentedCase(c.view as CaseView),
    log: steps
      .filter((s) => s.handoffId === c.id)
      .map((s) => ({
        step: s.step,
        actor: s.actor,
        at: s.at.toISOString(),
        detail: withNoteText(s.step, s.detail as Record<string, unknown>, notes),
        snapshot: s.snapshot as Record<string, unknown>,
      })),
  }));
}

export type PresentedCase = CaseView & { friction: string | null };

/** A case as the API shows it: the read model's view with its path-safe id, and `friction` always present (null: none recorded). */
export function presentedCase(view: CaseView): PresentedCase {
  return { ...view, id: pathSafeCaseId(view.id), friction: view.friction ?? null };
}

/** `id`: the journey's form of the case id (see journeyCaseId). */
export async function readHandoff(prisma: PrismaClient, id: string): Promise<HandoffWithLog | undefined> {
  const row = await prisma.handoff.findUnique({ where: { id } });
  return row ? (await withLogs(prisma, [row]))[0] : undefined;
}

/** Every case of a developer, oldest first, each with its log. */
export async function readDeveloperHandoffs(prisma: PrismaClient, developerId: string): Promise<HandoffWithLog[]> {
  const rows = await prisma.handoff.findMany({ where: { developerId }, orderBy: [{ openedAt: 'asc' }, { id: 'asc' }] });
  return withLogs(prisma, rows);
}
