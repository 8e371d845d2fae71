import { createHash, type Hash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readFileSync, statSync, writeFileSync, renameSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import cliProgress from 'cli-progress';
import { InvalidArgumentError, type Command } from 'commander';
import { loadConfig, type Config } from '../../config.ts';
import { ingestEvent, MAX_EVENTS_PER_BATCH, type IngestEvent } from '../../events/event-schemas.ts';
import { adminKeyFile } from '../admin-key.ts';
import { API_URL_HELP, apiBaseUrl } from '../api-url.ts';
import { CliFailure } from '../cli-failure.ts';
import { ApiClient, ApiError } from '../../client/api-client.ts';

/**
 * `onramp import <file|->`: a backfill of historical events, NDJSON (one event a line, blank
 * lines skipped), read as a stream and posted in order to `POST /v1/import` in batches. Each line
 * is validated locally with the API's own schema before its batch is sent: a batch with a bad line
 * is not sent (the errors name the line and field, exit 1), the batches before it stay imported.
 *
 * Resumable: for a file, the last fully accepted line is kept in
 * `$ONRAMP_DATA_DIR/imports/<sha256 of the absolute path>.json`, with a SHA-256 of the lines up to
 * it; a rerun whose file still starts with those lines skips them (a line fixed after the
 * checkpoint, or lines appended, do not break the resume; a changed prefix starts over).
 * Without a checkpoint (stdin, `--restart`, a deleted file) a rerun still creates no duplicates:
 * event ids are idempotency keys. Exit codes: 0 done, 1 invalid line or API error, 2 no key or
 * unreadable file.
 */

interface ImportOptions {
  url?: string;
  key?: string;
  batch: number;
  restart?: boolean;
}

interface Checkpoint {
  file: string;
  /** The last line (1-based) whose batch was accepted. */
  line: number;
  /** Bytes up to the end of that line. */
  bytes: number;
  /** SHA-256 of lines 1..line, each followed by "\n". */
  prefixSha256: string;
  updatedAt: string;
}

interface Totals {
  lines: number;
  accepted: number;
  duplicates: number;
  unattributed: number;
  /** Events of deleted developers: not stored. */
  deleted: number;
}

const out = (text: string) => process.stdout.write(`${text}\n`);
const err = (text: string) => process.stderr.write(`${text}\n`);

function batchSize(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > MAX_EVENTS_PER_BATCH) throw new InvalidArgumentError(`must be an integer from 1 to ${MAX_EVENTS_PER_BATCH}`);
  return n;
}

export function importCommand(program: Command): void {
  program
    .command('import <file>')
    .description(
      'backfill historical events from an NDJSON file (- for stdin) through POST /v1/import: stages and metrics as if lived, no nudge or escalation for the past; resumable',
    )
    .option('--url <url>', API_URL_HELP)
    .option('--key <key>', 'admin key (default ONRAMP_ADMIN_KEY, else $ONRAMP_DATA_DIR/admin-key)')
    .option('--batch <n>', `events per request (1-${MAX_EVENTS_PER_BATCH})`, batchSize, 500)
    .option('--restart', 'ignore the checkpoint of an earlier run of this file')
    .action(async (file: string, options: ImportOptions) => {
      try {
        await runImport(loadConfig(), file, options);
      } catch (error) {
        if (!(error instanceof CliFailure)) throw error;
        err(error.message);
        process.exitCode = error.exitCode;
      }
    });
}

export function checkpointPath(dataDir: string, absolutePath: string): string {
  return join(resolve(dataDir), 'imports', `${createHash('sha256').update(absolutePath).digest('hex')}.json`);
}

function readCheckpoint(path: string): Checkpoint | undefined {
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Checkpoint;
  } catch {
    return undefined;
  }
}

function writeCheckpoint(path: string, checkpoint: Checkpoint): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(`${path}.tmp`, `${JSON.stringify(checkpoint, null, 2)}\n`);
  renameSync(`${path}.tmp`, path); // never a half-written checkpoint
}

/** `properties.email: Invalid email address` for each problem of a line. */
function lineProblems(text: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return [`malformed JSON: ${(error as Error).message}`];
  }
  const result = ingestEvent.safeParse(parsed);
  if (result.success) return [];
  return result.error.issues.map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(event)'}: ${issue.message}`);
}

export async function runImport(config: Config, file: string, options: ImportOptions): Promise<Totals> {
  const url = apiBaseUrl(config, options.url);
  const keyFile = adminKeyFile(config.ONRAMP_DATA_DIR);
  const key = options.key ?? config.ONRAMP_ADMIN_KEY ?? (existsSync(keyFile) ? readFileSync(keyFile, 'utf8').trim() : undefined);
  if (!key) throw new CliFailure(`No admin key: pass --key, set ONRAMP_ADMIN_KEY, or run where ${keyFile} exists (onramp start writes it)`, 2);
  const client = new ApiClient(url, key);

  const fromStdin = file === '-';
  const absolute = fromStdin ? undefined : resolve(file);
  let size = 0;
  if (absolute) {
    try {
      size = statSync(absolute).size;
    } catch (error) {
      throw new CliFailure(`cannot read ${file}: ${(error as Error).message}`, 2);
    }
  }
  const checkpointFile = absolute ? checkpointPath(config.ONRAMP_DATA_DIR, absolute) : undefined;
  const checkpoint = checkpointFile && !options.restart ? readCheckpoint(checkpointFile) : undefined;

  const input = fromStdin ? process.stdin : createReadStream(absolute!);
  const lines = createInterface({ input, crlfDelay: Infinity });
  const prefix: Hash = createHash('sha256');
  const started = performance.now();
  const totals: Totals = { lines: 0, accepted: 0, duplicates: 0, unattributed: 0, deleted: 0 };
  const bar =
    absolute && process.stderr.isTTY
      ? new cliProgress.SingleBar(
          { format: 'import [{bar}] {percentage}% | line {line} | {accepted} accepted, {duplicates} duplicates', hideCursor: true, stream: process.stderr },
          cliProgress.Presets.shades_classic,
        )
      : undefined;
  bar?.start(Math.max(size, 1), 0, { line: 0, accepted: 0, duplicates: 0 });

  let lineNo = 0;
  let bytes = 0;
  let skipTo = 0;
  let batch: { line: number; event: IngestEvent }[] = [];
  const problems: string[] = [];
  let inBatch = 0;

  const send = async () => {
    if (problems.length > 0) {
      bar?.stop();
      for (const problem of problems) err(problem);
      throw new CliFailure(
        `${problems.length} invalid line${problems.length === 1 ? '' : 's'} in the batch ending at line ${lineNo}: nothing of it was sent${totals.accepted + totals.duplicates > 0 ? ` (the ${totals.accepted + totals.duplicates} events before it are imported)` : ''}`,
        1,
      );
    }
    inBatch = 0;
    if (batch.length === 0) return;
    let result: { accepted: number; duplicates: number; unattributed: number; deleted?: number };
    try {
      result = await client.post('/v1/import', { events: batch.map((b) => b.event) });
    } catch (error) {
      bar?.stop();
      if (error instanceof ApiError && error.status === 400) {
        const body = /^POST \/v1\/import: 400 (.*)$/s.exec(error.message)?.[1];
        try {
          for (const e of (JSON.parse(body ?? '') as { errors: { index?: number; path: string; message: string }[] }).errors) {
            err(`${e.index === undefined ? 'batch' : `line ${batch[e.index]?.line}`}: ${e.path}: ${e.message}`);
          }
        } catch {
          // the message below says it all
        }
      }
      throw new CliFailure(`import stopped at the batch of lines ${batch[0]!.line}-${batch.at(-1)!.line}: ${(error as Error).message}`, 1);
    }
    totals.accepted += result.accepted;
    totals.duplicates += result.duplicates;
    totals.unattributed += result.unattributed;
    totals.deleted += result.deleted ?? 0;
    batch = [];
    if (checkpointFile) writeCheckpoint(checkpointFile, { file: absolute!, line: lineNo, bytes, prefixSha256: prefix.copy().digest('hex'), updatedAt: new Date().toISOString() });
    bar?.update(bytes, { line: lineNo, accepted: totals.accepted, duplicates: totals.duplicates });
  };

  for await (const text of lines) {
    lineNo++;
    bytes += Buffer.byteLength(text) + 1;
    prefix.update(`${text}\n`);
    if (checkpoint && lineNo <= checkpoint.line) {
      if (lineNo === checkpoint.line) {
        if (prefix.copy().digest('hex') === checkpoint.prefixSha256) {
          skipTo = lineNo;
          out(`resuming after line ${lineNo} (checkpoint of an earlier run; --restart to read from the start)`);
        } else {
          out(`${file} changed before line ${checkpoint.line} since the last run: starting over (events already imported count as duplicates)`);
          lines.close();
          input.destroy();
          return runImport(config, file, { ...options, restart: true });
        }
      }
      continue;
    }
    totals.lines++;
    if (text.trim() === '') continue;
    const found = lineProblems(text);
    if (found.length > 0) problems.push(...found.map((p) => `line ${lineNo}: ${p}`));
    else batch.push({ line: lineNo, event: JSON.parse(text) as IngestEvent });
    // A batch is this many event lines, valid or not: a bad one stops the batch it falls in.
    if (++inBatch >= options.batch) await send();
  }
  if (checkpoint && skipTo === 0 && lineNo < checkpoint.line) {
    out(`${file} is shorter than at the last run (${checkpoint.line} lines): starting over`);
    return runImport(config, file, { ...options, restart: true });
  }
  await send();
  bar?.update(Math.max(size, 1));
  bar?.stop();

  const seconds = (performance.now() - started) / 1000;
  const events = totals.accepted + totals.duplicates + totals.deleted;
  out(
    `${fromStdin ? 'stdin' : file}: ${totals.lines} lines read, ${totals.accepted} accepted, ${totals.duplicates} duplicates, ${totals.unattributed} unattributed${totals.deleted > 0 ? `, ${totals.deleted} of deleted developers (not stored)` : ''} in ${seconds.toFixed(1)} s (${Math.round(events / Math.max(seconds, 0.001))} events/s)`,
  );
  return totals;
}
