import type { IngestEvent } from '../events/event-schemas.ts';
import type { FunnelDocument } from '../funnel/funnel-schema.ts';
import { openDatabase } from '../db/database.ts';
import { shippedFunnel } from '../funnel/funnel-file.ts';
import { FunnelStore } from '../funnel/funnel-store.ts';
import type { RiskCrossings } from '../journey/risk-crossings.ts';
import { crossingsOnHistory, hourOf, riskCriteria } from '../metrics/risk-crossings.ts';
import { RiskModels } from '../metrics/stagnation-risk-query.ts';
import { escalationPolicyFormat } from '../rules/escalation-policy-file.ts';
import { rulesFormat } from '../rules/rules-file.ts';
import { generateFunnelCohort } from '../simulator/funnel-cohort.ts';
import { reactToNudge } from '../simulator/synthetic-cohort.ts';
import type { SimulatedDeveloper } from '../simulator/simulation-types.ts';
import { ArrayFeed, mergeFeeds, type EventFeed } from './event-feed.ts';
import { HistoryFeed, summariseHistory, type HistorySummary, type HistoryWindow } from './history-feed.ts';
import { readTreatments, type Treatments } from './preview-comparison.ts';
import { readPreviewOutcome, type PreviewOutcome } from './preview-report.ts';
import { startPreviewSandbox, type PreviewSandbox } from './preview-sandbox.ts';

/**
 * `onramp rules preview`: a candidate rules file run against a cohort in a sandbox (see
 * preview-sandbox.ts) under a funnel (the one in force, or another) and reported, sending
 * nothing. The cohort is synthetic (mode b: the simulator's developers going through that funnel,
 * who open and click the nudges the candidate rules send them) or the
 * real history of the developers who signed up in a window (mode c), replayed in the sandbox's
 * future by whole weeks, so that weekdays and hours of the day, and with them quiet hours, are
 * those the developers lived.
 */

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;
/** The longest the sandbox advances between two looks at the emails it sent (reactions follow them). */
const STEP = HOUR;

export type PreviewCohort = { kind: 'synthetic'; developers: number; days: number; seed: number } | ({ kind: 'history'; databaseUrl: string } & HistoryWindow);

export interface PreviewOptions {
  /** The funnel the sandbox's journeys follow, validated. */
  funnel: { source: string; document: FunnelDocument };
  rulesSource: string;
  ruleIds: string[];
  policySource: string;
  templatesDir: string;
  mailFrom?: string;
  docsUrl: string;
  cohort: PreviewCohort;
  /** Called as sandbox time advances: the share of the run done, 0 to 1. */
  onProgress?: (done: number) => void;
  /** Stops the run at the next step (Ctrl-C): the sandbox is still torn down, its test server with it. */
  signal?: AbortSignal;
}

export interface PreviewResult {
  outcome: PreviewOutcome;
  /** What the rules did to each developer, for the comparison with other rules (preview-comparison.ts). */
  treatments: Treatments;
  /** Distinct events fed in (history and reactions). */
  events: number;
  /** Sandbox days played. */
  days: number;
  /** What the synthetic cohort could not simulate of the funnel (funnel-cohort.ts). */
  notes: string[];
  /** Mode c: what the source held, and what the running rules actually did. */
  history?: HistorySummary;
}

/**
 * The candidate's risk criteria act on today's curves of the real history, as they would if the
 * rules were applied now (the sandbox's own history is only the replayed window).
 */
async function crossingsToday(databaseUrl: string, rulesSource: string, policySource: string): Promise<RiskCrossings | undefined> {
  const rules = rulesFormat.parse(rulesSource);
  const policy = escalationPolicyFormat.parse(policySource);
  const documents = { rules: rules.ok ? rules.document : undefined, policy: policy.ok ? policy.document : undefined };
  if (riskCriteria(documents.rules, documents.policy).length === 0) return undefined;
  const real = openDatabase(databaseUrl, { max: 1 });
  try {
    const funnel = (await new FunnelStore(real.pool).active()) ?? shippedFunnel();
    return await crossingsOnHistory(new RiskModels(real.pool), funnel, documents, hourOf(Date.now()));
  } finally {
    await real.close();
  }
}

export async function runRulePreview(options: PreviewOptions): Promise<PreviewResult> {
  const historySummary = options.cohort.kind === 'history' ? await summariseHistory(options.cohort.databaseUrl, options.cohort) : undefined;
  const riskCrossings = options.cohort.kind === 'history' ? await crossingsToday(options.cohort.databaseUrl, options.rulesSource, options.policySource) : undefined;
  const sandbox = await startPreviewSandbox({
    funnelSource: options.funnel.source,
    rulesSource: options.rulesSource,
    policySource: options.policySource,
    templatesDir: options.templatesDir,
    mailFrom: options.mailFrom,
    docsUrl: options.docsUrl,
    ...(riskCrossings ? { riskCrossings } : {}),
  });
  let feed: EventFeed | undefined;
  try {
    const start = await sandbox.now();
    let end: number;
    let react: ((email: SentEmail) => IngestEvent[]) | undefined;
    const reactions = new ArrayFeed([]);
    const cohort = options.cohort;
    let history: HistoryFeed | undefined;
    let notes: string[] = [];
    if (cohort.kind === 'synthetic') {
      const synthetic = generateFunnelCohort(options.funnel.document, { seed: cohort.seed, developers: cohort.developers, days: cohort.days, start: new Date(start) });
      const { developers } = synthetic;
      notes = synthetic.notes;
      const byId = new Map<string, SimulatedDeveloper>(developers.map((d) => [d.profile.id, d]));
      end = start + cohort.days * DAY;
      feed = mergeFeeds([new ArrayFeed(developers.flatMap((d) => d.events)), reactions]);
      react = (email) => reactToNudge(byId.get(email.developerId)!, { nudgeKey: email.id, sentAt: email.sentAt, messageId: email.id }, cohort.seed);
    } else {
      const first = historySummary!.firstEventAt ?? start;
      const shift = Math.max(0, Math.ceil((start - first) / WEEK)) * WEEK;
      end = Date.now() + shift;
      history = new HistoryFeed(cohort.databaseUrl, cohort, shift);
      feed = history;
    }
    const events = await play(sandbox, feed, { start, end, react, reactions, onProgress: options.onProgress, signal: options.signal });
    const outcome = await readPreviewOutcome(sandbox.db.pool, options.ruleIds, options.funnel.document);
    return {
      outcome,
      treatments: await readTreatments(sandbox.db.pool),
      events,
      days: (end - start) / DAY,
      notes,
      ...(historySummary ? { history: { ...historySummary, skipped: history!.skipped } } : {}),
    };
  } finally {
    await feed?.close();
    await sandbox.close();
  }
}

interface SentEmail {
  id: string;
  developerId: string;
  sentAt: Date;
}

/**
 * Plays the feed in sandbox time: advances to the next event (at most STEP at a time, so that
 * reactions to emails follow them closely), ingests what is due, and turns the emails sent
 * meanwhile into the developers' reactions. Returns the number of events ingested.
 */
async function play(
  sandbox: PreviewSandbox,
  feed: EventFeed,
  run: { start: number; end: number; react?: (email: SentEmail) => IngestEvent[]; reactions: ArrayFeed; onProgress?: (done: number) => void; signal?: AbortSignal | undefined },
): Promise<number> {
  let now = run.start;
  let ingested = 0;
  let lastSent = '0';
  for (;;) {
    run.signal?.throwIfAborted();
    const next = await feed.nextTime();
    const target = Math.min(run.end, Math.max(now, Math.min(next ?? Infinity, now + STEP)));
    await sandbox.advance(target - now);
    now = target;
    const due = await feed.takeUntil(now);
    if (due.length > 0) await sandbox.ingest(due);
    ingested += due.length;
    if (run.react) {
      // decided_at is the sandbox time of the send (emails.sent_at is the wall clock's).
      const { rows } = await sandbox.db.pool.query<{ row: string; developer_id: string; nudge_key: string; decided_at: Date }>(
        `SELECT id AS row, developer_id, nudge_key, decided_at FROM nudge_decisions WHERE outcome = 'sent' AND id > $1 ORDER BY id`,
        [lastSent],
      );
      if (rows.length > 0) lastSent = rows.at(-1)!.row;
      run.reactions.add(rows.flatMap((r) => run.react!({ id: `${r.developer_id}/${r.nudge_key}`, developerId: r.developer_id, sentAt: r.decided_at })));
    }
    run.onProgress?.((now - run.start) / Math.max(1, run.end - run.start));
    if (now >= run.end) break;
  }
  // The last signals' work (transitions, decisions) finishes before the report reads it.
  await sandbox.advance(1000);
  return ingested;
}
