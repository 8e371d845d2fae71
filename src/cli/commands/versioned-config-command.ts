import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { z } from 'zod';
import { loadConfig, type Config } from '../../config.ts';
import type { ConfigFileError, ConfigFormat } from '../../rules/config-file.ts';
import { diffSources } from '../../rules/versioned-config-store.ts';
import { unreachableMessage } from '../../client/api-client.ts';
import { adminKeyFile } from '../admin-key.ts';
import { API_URL_HELP, apiBaseUrl } from '../api-url.ts';
import { CliFailure } from '../cli-failure.ts';
import { positiveInt } from '../option-parsers.ts';

/**
 * `onramp <name> validate|diff|apply|rollback|history` (and `show`) for a versioned config document
 * (`rules`, `policy`, `funnel`): `validate` works offline on a file; the others go through the
 * HTTP API with the admin key. Exit codes: 0 done, 1 invalid file / rejected / API error, 2 no
 * key or unreadable file.
 */

export interface VersionedConfigCommandSpec<S extends z.ZodType> {
  /** The command: `rules`, `policy`. */
  name: string;
  /** The command's description in `--help`. */
  description: string;
  /** `never`: whatever lists its errors name items of. */
  format: ConfigFormat<S, never>;
  /** The running version's URL: `/v1/rules`. */
  apiPath: string;
  /** The format with the checks that need the configuration (the templates folder), for `validate` and `diff`'s note. */
  checkedFormat?(config: Config): ConfigFormat<S, never>;
  /** What `validate` says of a valid file, after `valid`: `7 rules, 7 enabled`. */
  summarise(document: z.output<S>): string;
  /** Documents `apply` may send along in the same request, by option: `--rules <file>` → the body's `rules: { source }`. */
  along?: readonly AlongDocument[];
  /** One line per error the API answers, when its errors name more than this document (default: the format's). */
  formatError?(error: ConfigFileError): string;
  /** A line after the errors of a rejected `apply`, if they call for one. */
  rejectionHint?(errors: ConfigFileError[]): string | undefined;
  /** Adds `show [--version n] [--json]`. */
  show?: boolean;
}

export interface AlongDocument {
  /** The option's name, without dashes: `rules`, `policy`. */
  option: string;
  /** The request body's field: `rules`, `escalationPolicy`. */
  field: string;
  /** What it is, in messages: `rules`, `escalation policy`. */
  label: string;
}

export interface ApiOptions {
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

/** What became of a document sent along (`rules`, `escalationPolicy` in the answer). */
interface AlongBody {
  version: number;
  created: boolean;
  diff: string;
}

const out = (text: string) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
const err = (text: string) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`);

/** A caller of the HTTP API with the admin key that answers every status (the commands print a 400's errors themselves). */
export function configApi(config: Config, options: ApiOptions) {
  const base = apiBaseUrl(config, options.url);
  const file = adminKeyFile(config.ONRAMP_DATA_DIR);
  const key = options.key ?? config.ONRAMP_ADMIN_KEY ?? (existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined);
  if (!key) throw new CliFailure(`No admin key: pass --key, set ONRAMP_ADMIN_KEY, or run where ${file} exists (onramp start writes it)`, 2);
  return async (method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> => {
    let response: Response;
    try {
      response = await fetch(`${base}${path}`, {
        method,
        headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (error) {
      throw new CliFailure(unreachableMessage(base, error), 1);
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

function readSource(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new CliFailure(`cannot read ${file}: ${(error as Error).message}`, 2);
  }
}

/** The four subcommands of one document, bound to its format and URL. */
export function versionedConfigActions<S extends z.ZodType>(spec: VersionedConfigCommandSpec<S>) {
  const { format, apiPath } = spec;
  const { label } = format;
  const checked = (config: Config) => spec.checkedFormat?.(config) ?? format;
  const formatError = (error: ConfigFileError) => (spec.formatError ?? format.formatError)(error);

  function failure(status: number, body: unknown): CliFailure {
    const errors = (body as { errors?: ConfigFileError[] } | undefined)?.errors;
    const detail = Array.isArray(errors) ? errors.map((e) => (e.path ? formatError(e) : e.message)).join('\n') : JSON.stringify(body);
    return new CliFailure(`${status === 401 ? '401 (wrong or missing admin key)' : status}: ${detail}`, 1);
  }

  return {
    /** `validate <file>`: 0 valid, 1 invalid (one error per line), 2 unreadable. */
    validate(config: Config, file: string): number {
      if (!existsSync(file)) {
        err(`${file}: no such file`);
        return 2;
      }
      const result = checked(config).read(file);
      if (!result.ok) {
        for (const error of result.errors) out(format.formatError(error));
        err(`${file}: ${result.errors.length} error${result.errors.length === 1 ? '' : 's'}; nothing of it would be applied`);
        return 1;
      }
      out(`${file}: valid (${spec.summarise(result.document)})`);
      return 0;
    },

    /** `diff <file>`: the file against the running version, as a unified diff. */
    async diff(config: Config, file: string, options: ApiOptions): Promise<void> {
      const source = readSource(file);
      const current = await configApi(config, options)('GET', apiPath);
      if (current.status !== 200) throw failure(current.status, current.body);
      const running = current.body as VersionBody;
      if (running.source === source) {
        out(`${file} is identical to the running version ${running.version}`);
      } else {
        out(diffSources({ label: `${label} v${running.version} (running)`, source: running.source }, { label: file, source }));
      }
      const check = checked(config).parse(source);
      if (!check.ok) err(`note: ${file} is invalid, apply would reject it:\n${check.errors.map((e) => `  ${format.formatError(e)}`).join('\n')}`);
    },

    /**
     * `apply <file> --author --reason`: stores the file as the next version; with `along` options
     * (`--rules <file>`), their files in the same request, stored with it or not at all.
     */
    async apply(config: Config, file: string, options: ApiOptions & { author: string; reason: string } & Record<string, unknown>): Promise<number> {
      const source = readSource(file);
      const along = (spec.along ?? []).flatMap((a) => (typeof options[a.option] === 'string' ? [{ ...a, file: options[a.option] as string }] : []));
      const body = { source, author: options.author, reason: options.reason, ...Object.fromEntries(along.map((a) => [a.field, { source: readSource(a.file) }])) };
      const result = await configApi(config, options)('PUT', apiPath, body);
      if (result.status === 400) {
        const errors = (result.body as { errors?: ConfigFileError[] }).errors ?? [];
        for (const error of errors) out(formatError(error));
        err(
          along.length === 0
            ? `${file} rejected: nothing applied, the running version is unchanged`
            : `${[file, ...along.map((a) => a.file)].join(', ')} rejected: nothing applied, the running versions are unchanged`,
        );
        const hint = spec.rejectionHint?.(errors);
        if (hint) err(hint);
        return 1;
      }
      if (result.status !== 200 && result.status !== 201) throw failure(result.status, result.body);
      const version = result.body as VersionBody & Record<string, unknown>;
      if (!version.created) out(`${file} is identical to the running version ${version.version}: nothing applied`);
      else {
        out(`applied ${file} as version ${version.version} (${version.author}: ${version.reason})`);
        out(version.diff ?? '');
      }
      for (const a of along) {
        const applied = version[a.field] as AlongBody;
        if (!applied.created) out(`${a.label}: ${a.file} is identical to the running version ${applied.version}: nothing applied`);
        else {
          out(`${a.label}: applied ${a.file} as version ${applied.version}`);
          out(applied.diff);
        }
      }
      return 0;
    },

    /**
     * `rollback <version> --author --reason`: applies that version's source again, as the next
     * version (validated as any change is: a version naming a stage the funnel no longer has is
     * refused). Its reason says which version it restores.
     */
    async rollback(config: Config, version: number, options: ApiOptions & { author: string; reason: string }): Promise<number> {
      const call = configApi(config, options);
      const old = await call('GET', `${apiPath}/versions/${version}`);
      if (old.status !== 200) throw failure(old.status, old.body);
      const { source } = old.body as VersionBody;
      const result = await call('PUT', apiPath, { source, author: options.author, reason: `rollback to v${version}: ${options.reason}` });
      if (result.status === 400) {
        for (const error of (result.body as { errors?: ConfigFileError[] }).errors ?? []) out(formatError(error));
        err(`${label} v${version} no longer applies: nothing applied, the running version is unchanged`);
        return 1;
      }
      if (result.status !== 200 && result.status !== 201) throw failure(result.status, result.body);
      const applied = result.body as VersionBody;
      if (!applied.created) out(`the running version ${applied.version} already has the source of v${version}: nothing applied`);
      else {
        out(`rolled back to v${version}: applied as version ${applied.version} (${applied.author}: ${applied.reason})`);
        out(applied.diff ?? '');
      }
      return 0;
    },

    /**
     * A change computed from the running version's source (`rules promote`), applied as the next
     * version with the author and reason given (the revision's own reason first). Exit 1 when the
     * revision or the API refuses it: nothing applied.
     */
    async revise(
      config: Config,
      options: ApiOptions & { author: string; reason: string },
      revision: (source: string) => { ok: true; source: string; reason: string } | { ok: false; message: string },
    ): Promise<number> {
      const call = configApi(config, options);
      const current = await call('GET', apiPath);
      if (current.status !== 200) throw failure(current.status, current.body);
      const running = current.body as VersionBody;
      const revised = revision(running.source);
      if (!revised.ok) {
        err(`${revised.message}: nothing applied, the running version ${running.version} is unchanged`);
        return 1;
      }
      const result = await call('PUT', apiPath, { source: revised.source, author: options.author, reason: `${revised.reason}: ${options.reason}` });
      if (result.status === 400) {
        for (const error of (result.body as { errors?: ConfigFileError[] }).errors ?? []) out(formatError(error));
        err(`rejected: nothing applied, the running version ${running.version} is unchanged`);
        return 1;
      }
      if (result.status !== 200 && result.status !== 201) throw failure(result.status, result.body);
      const applied = result.body as VersionBody;
      out(`applied as version ${applied.version} (${applied.author}: ${applied.reason})`);
      out(applied.diff ?? '');
      return 0;
    },

    /** `show [--version n]`: the running version (or one), its source after a header line. */
    async show(config: Config, options: ApiOptions & { version?: number; json?: boolean }): Promise<void> {
      const result = await configApi(config, options)('GET', options.version === undefined ? apiPath : `${apiPath}/versions/${options.version}`);
      if (result.status !== 200) throw failure(result.status, result.body);
      if (options.json) {
        out(JSON.stringify(result.body, null, 2));
        return;
      }
      const v = result.body as VersionBody;
      out(`# ${label} v${v.version}${options.version === undefined ? ' (running)' : ''}, ${v.createdAt}, ${v.author}: ${v.reason}`);
      out(v.source);
    },

    /** `history`: every version, newest first. */
    async history(config: Config, options: ApiOptions & { json?: boolean; diff?: boolean }): Promise<void> {
      const result = await configApi(config, options)('GET', `${apiPath}/history`);
      if (result.status !== 200) throw failure(result.status, result.body);
      printHistory((result.body as { versions: VersionBody[] }).versions, options);
    },
  };
}

/** A `history` answer: one line per version (with `diff`, its diff after it), or the raw JSON. */
export function printHistory(versions: Pick<VersionBody, 'version' | 'createdAt' | 'author' | 'reason' | 'diff'>[], options: { json?: boolean; diff?: boolean }): void {
  if (options.json) {
    out(JSON.stringify(versions, null, 2));
    return;
  }
  for (const v of versions) {
    out(`v${v.version}  ${v.createdAt}  ${v.author}  ${v.reason}`);
    if (options.diff) out(`${v.diff ?? ''}\n`);
  }
}

/** Runs a subcommand's work: its exit code, or an expected failure's message and code. */
export const runConfigAction = (work: () => Promise<number | void>) =>
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

/** The options of a subcommand that goes through the HTTP API. */
export const withApiOptions = (sub: Command) => sub.option('--url <url>', API_URL_HELP).option('--key <key>', 'admin key (default ONRAMP_ADMIN_KEY or $ONRAMP_DATA_DIR/admin-key)');

/** Adds `<name> validate|diff|apply|rollback|history` to the program; returns `<name>` for more subcommands. */
export function versionedConfigCommand<S extends z.ZodType>(program: Command, spec: VersionedConfigCommandSpec<S>): Command {
  const actions = versionedConfigActions(spec);
  const { label } = spec.format;
  const command = program.command(spec.name).description(spec.description);
  const run = runConfigAction;
  const withApi = withApiOptions;

  command
    .command('validate <file>')
    .description(`check a ${label} file (no database or API needed); exit 0 valid, 1 invalid`)
    .action((file: string) => {
      process.exitCode = actions.validate(loadConfig(), file);
    });
  withApi(command.command('diff <file>').description(`unified diff of a ${label} file against the running version`)).action((file: string, options: ApiOptions) =>
    run(() => actions.diff(loadConfig(), file, options)),
  );
  const apply = command
    .command('apply <file>')
    .description(
      `store a ${label} file as the next version (rejected whole if invalid)${spec.along ? `, with the ${spec.along.map((a) => a.label).join(' and ')} given, in one transaction` : ''}`,
    )
    .requiredOption('--author <author>', 'who makes the change')
    .requiredOption('--reason <reason>', 'why');
  for (const a of spec.along ?? []) apply.option(`--${a.option} <file>`, `${a.label} to store with it (validated against it; same author and reason)`);
  withApi(apply).action((file: string, options: ApiOptions & { author: string; reason: string } & Record<string, unknown>) =>
    run(() => actions.apply(loadConfig(), file, options)),
  );
  withApi(
    command
      .command('rollback')
      .argument('<version>', 'the version whose source to apply again', positiveInt('<version>'))
      .description(`apply an earlier ${label} version's source again, as the next version (validated as any change)`)
      .requiredOption('--author <author>', 'who rolls back')
      .requiredOption('--reason <reason>', 'why (stored as "rollback to v<version>: <reason>")'),
  ).action((version: number, options: ApiOptions & { author: string; reason: string }) => run(() => actions.rollback(loadConfig(), version, options)));
  if (spec.show) {
    withApi(
      command
        .command('show')
        .description(`the running ${label} version (or --version n): a header line, then its YAML`)
        .option('--version <n>', 'this version instead of the running one', positiveInt('--version'))
        .option('--json', 'print the raw JSON (with the validated document)'),
    ).action((options: ApiOptions & { version?: number; json?: boolean }) => run(() => actions.show(loadConfig(), options)));
  }
  withApi(
    command.command('history').description(`every ${label} version, newest first`).option('--diff', 'print each version’s diff').option('--json', 'print the raw JSON'),
  ).action((options: ApiOptions & { json?: boolean; diff?: boolean }) => run(() => actions.history(loadConfig(), options)));
  return command;
}
