import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import cliProgress from 'cli-progress';
import { InvalidArgumentError, type Command } from 'commander';
import { type Config, loadConfig } from '../../config.ts';
import { shippedFunnel } from '../../funnel/funnel-file.ts';
import { stageLabel, type FunnelVersion } from '../../funnel/funnel-in-force.ts';
import { planDelivery } from '../../simulator/delivery-plan.ts';
import { generateFunnelCohort } from '../../simulator/funnel-cohort.ts';
import { feedOverHttp, type FeedReport } from '../../simulator/http-feed.ts';
import { DEFAULT_ERROR_RATES, type ErrorRates } from '../../simulator/personas.ts';
import type { SimulatedDeveloper } from '../../simulator/simulation-types.ts';
import { adminKeyFile } from '../admin-key.ts';
import { API_URL_HELP, apiBaseUrl } from '../api-url.ts';
import { positiveInt } from '../option-parsers.ts';
import { ApiClient, resolveKey } from '../../client/api-client.ts';

const DAY = 86_400_000;

export interface SimulationParams {
  url: string;
  ingestKey: string;
  adminKey?: string;
  developers: number;
  days: number;
  seed: number;
  /** The simulated history ends here (default now): signups over the `days` before it. */
  until: Date;
  errorRates: ErrorRates;
  lateShare: number;
  duplicateShare: number;
  /** Seconds to follow the outbox for emails to react to (0: none). */
  followEmails: number;
  truthFile?: string;
  /** No progress bars (they are drawn only when stderr is a terminal anyway). */
  quiet?: boolean;
}

export interface SimulationResult {
  /** The funnel simulated: the one in force (read with the admin key), else the shipped one. */
  funnel: FunnelVersion | undefined;
  /** What could not be simulated of it (funnel-cohort.ts), and why the shipped one stood in for it. */
  notes: string[];
  developers: SimulatedDeveloper[];
  feed: FeedReport;
  late: number;
  duplicates: number;
  events: number;
}

/**
 * Generates the cohort for the funnel in force (the personas' journeys for the shipped one, events
 * made from the evidence of one of your own), feeds it to the API, follows the emails; writes the
 * ground truth if asked.
 */
export async function runSimulation(params: SimulationParams): Promise<SimulationResult> {
  const start = new Date(params.until.getTime() - params.days * DAY);
  const inForce = await funnelInForce(params);
  const funnel = inForce ?? shippedFunnel();
  const cohort = generateFunnelCohort(funnel.document, {
    seed: params.seed,
    developers: params.developers,
    days: params.days,
    start,
    until: params.until,
    errorRates: params.errorRates,
  });
  const notes = [...(inForce ? [] : ['no admin key: the funnel in force cannot be read (GET /v1/funnel), so the shipped funnel is simulated']), ...cohort.notes];
  const { developers } = cohort;
  const plan = planDelivery(developers, { seed: params.seed, lateShare: params.lateShare, duplicateShare: params.duplicateShare });
  if (params.truthFile) writeTruth(params.truthFile, params, developers);

  const events = plan.batches.reduce((n, b) => n + b.length, 0);
  // Progress on stderr: bars on a terminal, otherwise a line at each tenth of the events (a log, not a redrawn bar).
  const bars =
    params.quiet || !process.stderr.isTTY
      ? undefined
      : new cliProgress.MultiBar(
          { format: '{phase} [{bar}] {value}/{total}', hideCursor: true, clearOnComplete: false, stream: process.stderr },
          cliProgress.Presets.shades_classic,
        );
  const eventsBar = bars?.create(events, 0, { phase: 'events ' });
  const eventsLine = params.quiet || bars ? undefined : tenths(events, (done) => process.stderr.write(`events fed: ${done}/${events}\n`));
  const emailsBar = params.followEmails > 0 && params.adminKey ? bars?.create(0, 0, { phase: 'emails ' }) : undefined;
  try {
    const feed = await feedOverHttp({
      ingest: new ApiClient(params.url, params.ingestKey),
      ...(params.adminKey ? { admin: new ApiClient(params.url, params.adminKey) } : {}),
      developers,
      plan,
      seed: params.seed,
      ...(params.followEmails > 0 ? { followEmails: { forMs: params.followEmails * 1000, quietMs: Math.min(20_000, params.followEmails * 1000) } } : {}),
      onProgress: ({ phase, done, total }) => {
        if (phase === 'events') {
          eventsBar?.update(done);
          eventsLine?.(done);
        } else {
          emailsBar?.setTotal(total);
          emailsBar?.update(done);
        }
      },
    });
    return { funnel: inForce, notes, developers, feed, late: plan.late, duplicates: plan.duplicates, events: plan.events };
  } finally {
    bars?.stop();
  }
}

/** The funnel in force, read with the admin key (undefined without one). */
async function funnelInForce(params: SimulationParams): Promise<FunnelVersion | undefined> {
  if (!params.adminKey) return undefined;
  const { version, document } = await new ApiClient(params.url, params.adminKey).get<FunnelVersion>('/v1/funnel');
  return { version, document };
}

/** Calls `report` when `done` first reaches each tenth of `total`. */
function tenths(total: number, report: (done: number) => void): (done: number) => void {
  let reported = 0;
  return (done) => {
    const tenth = Math.floor((done * 10) / total);
    if (!(tenth > reported)) return; // NaN (no events) too
    reported = tenth;
    report(done);
  };
}

/** What was generated: the profiles and the truth, one developer per entry (no events: they are regenerated from the seed). */
function writeTruth(file: string, params: SimulationParams, developers: SimulatedDeveloper[]): void {
  const { ingestKey: _ingest, adminKey: _admin, truthFile: _file, ...options } = params;
  writeFileSync(file, `${JSON.stringify({ generatedAt: new Date().toISOString(), options, developers: developers.map((d) => ({ ...d.profile, truth: d.truth })) }, null, 1)}\n`);
}

export function formatSummary(result: SimulationResult): string {
  const { developers, feed } = result;
  const { document } = result.funnel ?? shippedFunnel();
  const reached = document.stages.map(({ id }) => `${stageLabel(document, id)} ${developers.filter((d) => d.truth.stages[id]).length}`).join(', ');
  const rate = feed.elapsedMs > 0 ? Math.round((result.events / feed.elapsedMs) * 1000) : 0;
  return [
    `simulated ${developers.length} developers, ${result.events} events (${result.late} late, ${result.duplicates} sent twice) in ${(feed.elapsedMs / 1000).toFixed(1)} s (${rate} events/s)`,
    `  funnel: ${result.funnel ? `v${result.funnel.version}, the one in force` : 'the shipped one'}`,
    `  API: ${feed.requests} requests, accepted ${feed.accepted}, duplicates ${feed.duplicates}, unattributed ${feed.unattributed}`,
    `  ground truth, developers who reached: ${reached}`,
    `  emails followed ${feed.emails}: ${feed.opened} opens and ${feed.clicked} clicks posted`,
    ...result.notes.map((note) => `  ${note}`),
  ].join('\n');
}

function parseErrorRates(value: string): ErrorRates {
  const rates = { ...DEFAULT_ERROR_RATES };
  for (const part of value.split(',')) {
    const [status, share] = part.split('=');
    const key = ({ '401': 'status401', '400': 'status400', '429': 'status429' } as const)[status?.trim() as '401'];
    const number = Number(share);
    if (!key || !(number >= 0 && number <= 1)) throw new InvalidArgumentError(`"${part}" is not <401|400|429>=<share 0..1>`);
    rates[key] = number;
  }
  return rates;
}

const seconds = (name: string) => (value: string) => {
  const n = Number(value);
  if (!(n >= 0 && n <= 86_400)) throw new InvalidArgumentError(`${name} must be a number of seconds`);
  return n;
};
const share = (name: string) => (value: string) => {
  const n = Number(value);
  if (!(n >= 0 && n <= 1)) throw new InvalidArgumentError(`${name} must be a share between 0 and 1`);
  return n;
};

export function simulateCommand(program: Command): void {
  program
    .command('simulate')
    .description('generate a synthetic cohort (behaviour per acquisition channel) and feed it to a running Onramp over HTTP')
    .option('--developers <n>', 'developers', positiveInt('--developers'), 500)
    .option('--days <n>', 'signups spread over this many days, ending at --until', positiveInt('--days'), 30)
    .option('--seed <n>', 'random seed: the same seed gives the same cohort', positiveInt('--seed'), 1)
    .option('--until <instant>', 'the simulated history ends here (default: now)')
    .option('--error-rates <rates>', 'first-session error shares, e.g. 401=0.15,400=0.08,429=0.04', parseErrorRates, DEFAULT_ERROR_RATES)
    .option('--late-share <share>', 'share of gateway lines that arrive late', share('--late-share'), 0.05)
    .option('--duplicate-share <share>', 'share of events sent twice', share('--duplicate-share'), 0.02)
    .option('--follow-emails <seconds>', 'follow the outbox this long and post opens and clicks (0: no reactions)', seconds('--follow-emails'), 60)
    .option('--truth <file>', 'write the ground truth (profiles and what each developer did) as JSON')
    .option('--url <url>', API_URL_HELP)
    .option('--key <key>', 'ingest key (default ONRAMP_INGEST_KEY or $ONRAMP_DATA_DIR/ingest-key)')
    .option('--admin-key <key>', 'admin key, to read the emails sent (default ONRAMP_ADMIN_KEY or $ONRAMP_DATA_DIR/admin-key)')
    .action(async (options) => {
      const config: Config = loadConfig();
      const ingestKey = resolveKey(options.key, config.ONRAMP_INGEST_KEY, join(resolve(config.ONRAMP_DATA_DIR), 'ingest-key'));
      if (!ingestKey) {
        process.stderr.write('No ingest key: pass --key, set ONRAMP_INGEST_KEY, or run where .data holds the ingest key\n');
        process.exitCode = 2;
        return;
      }
      const until = options.until ? new Date(options.until) : new Date();
      if (Number.isNaN(until.getTime())) {
        process.stderr.write('--until must be an ISO-8601 instant\n');
        process.exitCode = 2;
        return;
      }
      const adminKey = resolveKey(options.adminKey, config.ONRAMP_ADMIN_KEY, adminKeyFile(config.ONRAMP_DATA_DIR));
      const result = await runSimulation({
        url: apiBaseUrl(config, options.url),
        ingestKey,
        ...(adminKey ? { adminKey } : {}),
        developers: options.developers,
        days: options.days,
        seed: options.seed,
        until,
        errorRates: options.errorRates,
        lateShare: options.lateShare,
        duplicateShare: options.duplicateShare,
        followEmails: options.followEmails,
        ...(options.truth ? { truthFile: options.truth } : {}),
      });
      process.stdout.write(`${formatSummary(result)}\n`);
    });
}
