import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import cliProgress from 'cli-progress';
import type pg from 'pg';
import { pino } from 'pino';
import type { z } from 'zod';
import type { Config } from '../../config.ts';
import { openDatabase } from '../../db/database.ts';
import { funnelFormat } from '../../funnel/funnel-file.ts';
import type { FunnelDocument } from '../../funnel/funnel-schema.ts';
import { formatConfigDocumentError, stageReferenceErrors } from '../../funnel/funnel-references.ts';
import { FunnelStore } from '../../funnel/funnel-store.ts';
import { evaluateFailIf, FailIfSyntaxError, parseFailIf, type FailIfThreshold, type FailIfVerdict } from '../../preview/fail-if.ts';
import { comparePreviews, formatComparison, type PreviewComparison } from '../../preview/preview-comparison.ts';
import { formatPreviewOutcome } from '../../preview/preview-report.ts';
import { runRulePreview, type PreviewCohort, type PreviewOptions, type PreviewResult } from '../../preview/rule-preview.ts';
import type { ConfigFormat } from '../../rules/config-file.ts';
import { escalationPolicyFormat } from '../../rules/escalation-policy-file.ts';
import { EscalationPolicyStore } from '../../rules/escalation-policy-store.ts';
import { rulesFormat, rulesFormatWithTemplates } from '../../rules/rules-file.ts';
import { RuleStore } from '../../rules/rule-store.ts';
import { EmailTemplates } from '../../mail/email-templates.ts';
import { installTemporalRuntime } from '../../temporal/install-runtime.ts';
import { CliFailure } from '../cli-failure.ts';
import type { PreviewCliOptions } from './rules-preview-command.ts';

/**
 * `onramp rules preview <file>`: what a candidate rules file would send and escalate, run in a
 * sandbox against a synthetic cohort (default) or, with --history, against the developers who
 * signed up in a window of the real history (DATABASE_URL, read only), under a funnel (--funnel,
 * else the one in force with --history, else ONRAMP_FUNNEL_FILE), compared with the rules in
 * force run on the same cohort (--against, else the running rules with --history, else
 * ONRAMP_RULES_FILE; --no-compare: the candidate alone). Sends nothing, writes nothing outside
 * the sandbox. Exit codes: 0 done, 1 invalid rules, policy or funnel (or stages they name that it
 * lacks), 2 unreadable file, no DATABASE_URL for --history or a malformed --fail-if, 3 a --fail-if
 * threshold holds, 130 interrupted.
 */

const DAY = 86_400_000;

/** The exit code when a --fail-if threshold holds (CI fails the job on it). */
export const THRESHOLD_EXIT_CODE = 3;

function readOrFail(file: string): string {
  if (!existsSync(file)) throw new CliFailure(`${file}: no such file`, 2);
  return readFileSync(file, 'utf8');
}

/** The candidate rules, validated exactly as `rules validate` and `PUT /v1/rules` do. */
function candidateRules(file: string, templatesDir: string) {
  const source = readOrFail(file);
  const parsed = rulesFormatWithTemplates(new EmailTemplates(templatesDir)).parse(source);
  if (!parsed.ok)
    throw new CliFailure(
      [...parsed.errors.map((e) => rulesFormat.formatError(e)), `${file}: ${parsed.errors.length} error${parsed.errors.length === 1 ? '' : 's'}; nothing previewed`].join('\n'),
      1,
    );
  return { source, document: parsed.document, ruleIds: parsed.document.rules.map((r) => r.id), enabled: parsed.document.rules.filter((r) => r.enabled).length };
}

/** A document the preview runs under: the file given, else the one running in the source database (--history), else the configured file. */
async function documentToPreview<S extends z.ZodType, Named extends string>(
  config: Config,
  options: PreviewCliOptions,
  document: {
    given: string | undefined;
    configured: string;
    format: ConfigFormat<S, Named>;
    running: (pool: pg.Pool) => Promise<{ source: string; document: z.output<S>; version: number }>;
  },
): Promise<{ source: string; document: z.output<S>; from: string }> {
  const { format } = document;
  const fromFile = (file: string) => {
    const source = readOrFail(file);
    const parsed = format.parse(source);
    if (!parsed.ok) throw new CliFailure(parsed.errors.map((e) => `${file}: ${format.formatError(e)}`).join('\n'), 1);
    return { source, document: parsed.document, from: file };
  };
  if (document.given) return fromFile(document.given);
  if (options.history && config.DATABASE_URL) {
    const db = openDatabase(config.DATABASE_URL, { max: 1 });
    try {
      const running = await document.running(db.pool).catch(() => undefined);
      if (running) return { source: running.source, document: running.document, from: `the running ${format.label} v${running.version}` };
    } finally {
      await db.close();
    }
  }
  return fromFile(document.configured);
}

function cohortOf(config: Config, options: PreviewCliOptions): PreviewCohort {
  if (!options.history) return { kind: 'synthetic', developers: options.developers, days: options.days, seed: options.seed };
  if (!config.DATABASE_URL) throw new CliFailure('--history reads the developers and events in DATABASE_URL: set it to the database Onramp runs on', 2);
  const to = options.to ?? new Date();
  const from = options.from ?? new Date(to.getTime() - options.days * DAY);
  if (from >= to) throw new CliFailure('--from must be before --to', 2);
  return { kind: 'history', databaseUrl: config.DATABASE_URL, from, to };
}

/** The thresholds, parsed before anything runs: a malformed one is a usage error. */
function thresholdsOf(options: PreviewCliOptions): FailIfThreshold[] {
  try {
    const thresholds = options.failIf.map(parseFailIf);
    if (thresholds.length > 0 && !options.compare) throw new FailIfSyntaxError('--fail-if compares with the rules in force: drop --no-compare');
    return thresholds;
  } catch (error) {
    if (error instanceof FailIfSyntaxError) throw new CliFailure(error.message, 2);
    throw error;
  }
}

export interface RulesPreviewReport {
  candidate: PreviewResult;
  comparison?: PreviewComparison;
  failIf: FailIfVerdict[];
}

export async function previewRules(config: Config, file: string, options: PreviewCliOptions): Promise<RulesPreviewReport> {
  const thresholds = thresholdsOf(options);
  const rules = candidateRules(file, resolve(config.ONRAMP_TEMPLATES_DIR));
  const cohort = cohortOf(config, options);
  const funnel = await documentToPreview(config, options, {
    given: options.funnel,
    configured: config.ONRAMP_FUNNEL_FILE,
    format: funnelFormat,
    running: (pool) => new FunnelStore(pool).current(),
  });
  const policy = await documentToPreview(config, options, {
    given: options.policy,
    configured: config.ONRAMP_ESCALATION_FILE,
    format: escalationPolicyFormat,
    running: (pool) => new EscalationPolicyStore(pool).current(),
  });
  // The rules and the policy name stages: the funnel's own, in its order, or nothing is previewed.
  const stageErrors = stageReferenceErrors(funnel.document, { rules, policy });
  if (stageErrors.length > 0)
    throw new CliFailure(
      [...stageErrors.map(formatConfigDocumentError), `the funnel from ${funnel.from} does not have these stages (another: --funnel <file>); nothing previewed`].join('\n'),
      1,
    );
  const inForce = options.compare ? await rulesInForce(config, options, funnel, thresholds.length > 0) : undefined;
  // Temporal's own logs (worker start and stop, the test server's missing capabilities) would
  // drown the report: errors only, on stderr.
  installTemporalRuntime(pino({ level: 'error' }, pino.destination(2)));
  const bar =
    options.json || !process.stderr.isTTY
      ? undefined
      : new cliProgress.SingleBar({ format: 'preview [{bar}] {percentage}% | {day}', hideCursor: true, stream: process.stderr }, cliProgress.Presets.shades_classic);
  bar?.start(100, 0, { day: 'starting the sandbox' });
  // Ctrl-C stops at the next step and tears the sandbox down: no test server is left running.
  const interrupted = new AbortController();
  const interrupt = () => interrupted.abort(new CliFailure('interrupted: nothing previewed', 130));
  process.once('SIGINT', interrupt).once('SIGTERM', interrupt);
  try {
    // Each rules file in its own sandbox on the same cohort: the rules in force first, then the candidate.
    const runs = inForce && inForce.source !== rules.source ? 2 : 1;
    const run = (source: { source: string; ruleIds: string[] }, index: number, what: string) =>
      runRulePreview({
        funnel,
        rulesSource: source.source,
        ruleIds: source.ruleIds,
        policySource: policy.source,
        templatesDir: resolve(config.ONRAMP_TEMPLATES_DIR),
        mailFrom: config.ONRAMP_MAIL_FROM,
        docsUrl: config.ONRAMP_DOCS_URL,
        cohort,
        onProgress: (done) => bar?.update(Math.floor(((index + done) / runs) * 100), { day: `${what}: ${Math.round(done * 100)}% of the sandbox time played` }),
        signal: interrupted.signal,
      } satisfies PreviewOptions);
    const baseline = inForce && runs === 2 ? await run(inForce, 0, 'the rules in force') : undefined;
    const result = await run(rules, runs - 1, 'the candidate');
    bar?.update(100, { day: 'done' });
    bar?.stop();
    const comparison = inForce ? comparePreviews(inForce.from, baseline ?? result, result) : undefined;
    const failIf = comparison ? evaluateFailIf(thresholds, comparison.totals) : [];
    const out = (text: string) => process.stdout.write(`${text}\n`);
    for (const verdict of failIf.filter((v) => v.tripped)) process.stderr.write(`onramp: --fail-if '${verdict.threshold.text}' tripped: ${verdict.detail}\n`);
    if (failIf.some((v) => v.tripped)) process.exitCode = THRESHOLD_EXIT_CODE;
    if (options.json) {
      const { treatments: _, ...candidate } = result;
      out(
        JSON.stringify(
          {
            file,
            rules: { total: rules.ruleIds.length, enabled: rules.enabled },
            policy: policy.from,
            funnel: funnel.from,
            cohort: describeCohort(cohort),
            ...candidate,
            ...(comparison ? { comparison } : {}),
            failIf: failIf.map((v) => ({ threshold: v.threshold.text, tripped: v.tripped, ...v.figure })),
          },
          null,
          2,
        ),
      );
      return { candidate: result, ...(comparison ? { comparison } : {}), failIf };
    }
    out(`${file}: ${rules.ruleIds.length} rules (${rules.enabled} enabled), escalation policy from ${policy.from}, funnel from ${funnel.from}`);
    if (cohort.kind === 'synthetic') {
      out(`against ${cohort.developers} synthetic developers signing up over ${cohort.days} days (seed ${cohort.seed}): ${result.events} events, opens and clicks included`);
      for (const note of result.notes) out(`  ${note}`);
    } else {
      const h = result.history!;
      out(
        `against the ${h.developers} developers who signed up from ${cohort.from.toISOString()} to ${cohort.to.toISOString()}: ${result.events} of their events replayed (${h.skipped} unreadable, skipped; email opens and clicks left out)`,
      );
    }
    out(`sandbox: ${result.days.toFixed(1)} days played under the time-skipping server; nothing was sent, nothing written outside it\n`);
    out(formatPreviewOutcome(result.outcome, funnel.document, result.history?.actual));
    if (comparison) out(`\n${formatComparison(comparison)}`);
    if (failIf.length > 0) out(`\nthresholds\n${failIf.map((v) => `  ${v.tripped ? 'TRIPPED' : 'ok     '}  ${v.threshold.text}   ${v.detail}`).join('\n')}`);
    return { candidate: result, ...(comparison ? { comparison } : {}), failIf };
  } finally {
    process.off('SIGINT', interrupt).off('SIGTERM', interrupt);
    bar?.stop();
  }
}

/**
 * The rules the candidate is compared with: --against, else the running ones (--history), else
 * ONRAMP_RULES_FILE. When they name stages the previewed funnel lacks, the candidate runs alone
 * (said on stderr), unless a --fail-if needs the comparison.
 */
async function rulesInForce(
  config: Config,
  options: PreviewCliOptions,
  funnel: { document: FunnelDocument; from: string },
  required: boolean,
): Promise<{ source: string; ruleIds: string[]; from: string } | undefined> {
  const inForce = await documentToPreview(config, options, {
    given: options.against,
    configured: config.ONRAMP_RULES_FILE,
    format: rulesFormat,
    running: (pool) => new RuleStore(pool).current(),
  });
  const stageErrors = stageReferenceErrors(funnel.document, { rules: inForce });
  if (stageErrors.length === 0) return { source: inForce.source, ruleIds: inForce.document.rules.map((r) => r.id), from: inForce.from };
  const problem = [...stageErrors.map(formatConfigDocumentError), `the rules in force (${inForce.from}) name stages the funnel from ${funnel.from} lacks`].join('\n');
  if (required) throw new CliFailure(`${problem}: nothing to compare --fail-if with (another: --against <file>)`, 1);
  process.stderr.write(`${problem}: the candidate alone is previewed (another: --against <file>)\n`);
  return undefined;
}

function describeCohort(cohort: PreviewCohort) {
  return cohort.kind === 'synthetic' ? cohort : { kind: cohort.kind, from: cohort.from.toISOString(), to: cohort.to.toISOString() };
}
