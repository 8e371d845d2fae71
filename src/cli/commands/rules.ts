import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { loadConfig, type Config } from '../../config.ts';
import { diffSources } from '../../rules/rule-store.ts';
import { formatRulesError, parseRulesSource, readRulesFile, type RulesFileError } from '../../rules/rules-file.ts';
import { adminKeyFile } from '../admin-key.ts';

/**
 * `onramp rules …`: `validate` works offline on a file; `diff`, `apply` and `history` go through
 * the HTTP API with the admin key. Exit codes: 0 done, 1 invalid rules / rejected / API error,
 * 2 no key or unreadable file.
 */

interface ApiOptions {
  url?: string;
  key?: string;
}

interface VersionBody {
  version: number;
  author: string;
  reason: string;
  createdAt: string;
  source: string;
  diff?: string;
  created?: boolean;
}

const out = (text: string) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
const err = (text: string) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`);

/** `onramp rules validate <file>`: 0 valid, 1 invalid (one error per line), 2 unreadable. */
export function validateRulesFile(file: string): number {
  if (!existsSync(file)) {
    err(`${file}: no such file`);
    return 2;
  }
  const result = readRulesFile(file);
  if (!result.ok) {
    for (const error of result.errors) out(formatRulesError(error));
    err(`${file}: ${result.errors.length} error${result.errors.length === 1 ? '' : 's'}; nothing of it would be applied`);
    return 1;
  }
  const rules = result.document.rules;
  out(`${file}: valid (${rules.length} rule${rules.length === 1 ? '' : 's'}, ${rules.filter((r) => r.enabled).length} enabled)`);
  return 0;
}

class CliFailure extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

function api(config: Config, options: ApiOptions) {
  const base = (options.url ?? `http://localhost:${config.PORT}`).replace(/\/+$/, '');
  const file = adminKeyFile(config.ONRAMP_DATA_DIR);
  const key = options.key ?? config.ONRAMP_ADMIN_KEY ?? (existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined);
  if (!key) throw new CliFailure(`No admin key: pass --key, set ONRAMP_ADMIN_KEY, or run where ${file} exists (onramp start writes it)`, 2);
  return async (method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> => {
    let response: Response;
    try {
      response = await fetch(`${base}${path}`, {
        method,
        headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (error) {
      throw new CliFailure(`cannot reach the API at ${base}: ${(error as Error & { cause?: Error }).cause?.message ?? (error as Error).message}`, 1);
    }
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: keep the text for the message
    }
    return { status: response.status, body: parsed };
  };
}

function failure(status: number, body: unknown): CliFailure {
  const errors = (body as { errors?: RulesFileError[] } | undefined)?.errors;
  const detail = Array.isArray(errors) ? errors.map((e) => (e.path || e.rule ? formatRulesError(e) : e.message)).join('\n') : JSON.stringify(body);
  return new CliFailure(`${status === 401 ? '401 (wrong or missing admin key)' : status}: ${detail}`, 1);
}

function readSource(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new CliFailure(`cannot read ${file}: ${(error as Error).message}`, 2);
  }
}

/** `onramp rules diff <file>`: the file against the running version, as a unified diff. */
export async function diffRulesFile(config: Config, file: string, options: ApiOptions): Promise<void> {
  const source = readSource(file);
  const call = api(config, options);
  const current = await call('GET', '/v1/rules');
  if (current.status !== 200) throw failure(current.status, current.body);
  const running = current.body as VersionBody;
  if (running.source === source) {
    out(`${file} is identical to the running version ${running.version}`);
  } else {
    out(diffSources({ label: `rules v${running.version} (running)`, source: running.source }, { label: file, source }));
  }
  const check = parseRulesSource(source);
  if (!check.ok) err(`note: ${file} is invalid, apply would reject it:\n${check.errors.map((e) => `  ${formatRulesError(e)}`).join('\n')}`);
}

/** `onramp rules apply <file> --author --reason`: stores the file as the next version. */
export async function applyRulesFile(config: Config, file: string, options: ApiOptions & { author: string; reason: string }): Promise<number> {
  const source = readSource(file);
  const call = api(config, options);
  const result = await call('PUT', '/v1/rules', { source, author: options.author, reason: options.reason });
  if (result.status === 400) {
    const errors = (result.body as { errors?: RulesFileError[] }).errors ?? [];
    for (const error of errors) out(formatRulesError(error));
    err(`${file} rejected: nothing applied, the running version is unchanged`);
    return 1;
  }
  if (result.status !== 200 && result.status !== 201) throw failure(result.status, result.body);
  const version = result.body as VersionBody;
  if (!version.created) {
    out(`${file} is identical to the running version ${version.version}: nothing applied`);
    return 0;
  }
  out(`applied ${file} as version ${version.version} (${version.author}: ${version.reason})`);
  out(version.diff ?? '');
  return 0;
}

/** `onramp rules history`: every version, newest first. */
export async function printRulesHistory(config: Config, options: ApiOptions & { json?: boolean; diff?: boolean }): Promise<void> {
  const result = await api(config, options)('GET', '/v1/rules/history');
  if (result.status !== 200) throw failure(result.status, result.body);
  const { versions } = result.body as { versions: VersionBody[] };
  if (options.json) {
    out(JSON.stringify(versions, null, 2));
    return;
  }
  for (const v of versions) {
    out(`v${v.version}  ${v.createdAt}  ${v.author}  ${v.reason}`);
    if (options.diff) out(`${v.diff ?? ''}\n`);
  }
}

/** Adds `rules validate|diff|apply|history` to the program. */
export function rulesCommand(program: Command): void {
  const rules = program.command('rules').description('nudge rules: validate a file offline; diff, apply and history through the HTTP API (admin key)');
  const run = (work: () => Promise<number | void>) =>
    work().then(
      (code) => {
        process.exitCode = code ?? 0;
      },
      (error: unknown) => {
        if (!(error instanceof CliFailure)) throw error;
        err(error.message);
        process.exitCode = error.exitCode;
      },
    );
  const withApi = (command: Command) =>
    command.option('--url <url>', 'API base URL (default http://localhost:$PORT)').option('--key <key>', 'admin key (default ONRAMP_ADMIN_KEY or $ONRAMP_DATA_DIR/admin-key)');

  rules
    .command('validate <file>')
    .description('check a rules file (no database or API needed); exit 0 valid, 1 invalid')
    .action((file: string) => {
      process.exitCode = validateRulesFile(file);
    });
  withApi(rules.command('diff <file>').description('unified diff of a rules file against the running version')).action((file: string, options: ApiOptions) =>
    run(() => diffRulesFile(loadConfig(), file, options)),
  );
  withApi(
    rules
      .command('apply <file>')
      .description('store a rules file as the next version (rejected whole if invalid)')
      .requiredOption('--author <author>', 'who makes the change')
      .requiredOption('--reason <reason>', 'why'),
  ).action((file: string, options: ApiOptions & { author: string; reason: string }) => run(() => applyRulesFile(loadConfig(), file, options)));
  withApi(rules.command('history').description('every rules version, newest first').option('--diff', 'print each version’s diff').option('--json', 'print the raw JSON')).action(
    (options: ApiOptions & { json?: boolean; diff?: boolean }) => run(() => printRulesHistory(loadConfig(), options)),
  );
}
