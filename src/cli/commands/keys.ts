import type { Command } from 'commander';
import type { AuditEntry } from '../../audit/audit-log.ts';
import type { IngestKeyInfo } from '../../keys/key-kinds.ts';
import { admin, withApi } from '../admin-command.ts';
import { intInRange } from '../option-parsers.ts';

/** `onramp keys …` and `onramp audit`: admin operations through the API (admin key). */

const row = (k: IngestKeyInfo) => `${k.id}  ${k.source.padEnd(16)}  created ${k.createdAt} by ${k.createdBy}${k.revokedAt ? `  REVOKED ${k.revokedAt} by ${k.revokedBy}` : ''}`;

export function keysCommand(program: Command): void {
  const keys = program.command('keys').description('ingest keys per source, stored hashed: create, list, revoke (admin key)');
  withApi(keys.command('create').description('create an ingest key; it is printed once (stdout), never stored'))
    .requiredOption('--source <name>', 'what sends with it: gateway, auth, crm…')
    .requiredOption('--author <who>', 'recorded in the audit trail')
    .option('--reason <why>', 'recorded in the audit trail')
    .action((options) =>
      admin(options, async (api) => {
        const created = await api.post<IngestKeyInfo & { key: string }>('/v1/ingest-keys', {
          source: options.source,
          author: options.author,
          ...(options.reason ? { reason: options.reason } : {}),
        });
        process.stderr.write(`created ${created.id} for ${created.source}; the key (shown once):\n`);
        process.stdout.write(`${created.key}\n`);
      }),
    );
  withApi(keys.command('list').description('every ingest key, oldest first (ids and sources, never the keys)'))
    .option('--json', 'print the raw JSON')
    .action((options) =>
      admin(options, async (api) => {
        const { keys: list } = await api.get<{ keys: IngestKeyInfo[] }>('/v1/ingest-keys');
        process.stdout.write(options.json ? `${JSON.stringify(list, null, 2)}\n` : list.map((k) => `${row(k)}\n`).join(''));
      }),
    );
  withApi(keys.command('revoke <id>').description('revoke a key: refused from then on (each API process within 5 s)'))
    .requiredOption('--author <who>', 'recorded in the audit trail')
    .option('--reason <why>', 'recorded in the audit trail')
    .action((id: string, options) =>
      admin(options, async (api) => {
        const result = await api.post<{ changed: boolean; key: IngestKeyInfo }>(`/v1/ingest-keys/${encodeURIComponent(id)}/revoke`, {
          author: options.author,
          ...(options.reason ? { reason: options.reason } : {}),
        });
        process.stdout.write(`${result.changed ? 'revoked' : 'already revoked'}: ${row(result.key)}\n`);
      }),
    );

  withApi(program.command('audit').description('the audit trail, newest first: rules and policy versions, ingest and agent keys (admin key)'))
    .option('--action <action>', 'only this action, e.g. ingest_key.revoked')
    .option('--subject <subject>', 'only this subject, e.g. an ingest or agent key id')
    .option('--limit <n>', 'entries (1–500)', intInRange('--limit', 1, 500), 50)
    .option('--json', 'print the raw JSON')
    .action((options) =>
      admin(options, async (api) => {
        const query = new URLSearchParams({
          limit: String(options.limit),
          ...(options.action ? { action: options.action } : {}),
          ...(options.subject ? { subject: options.subject } : {}),
        });
        const { entries } = await api.get<{ entries: AuditEntry[] }>(`/v1/audit?${query}`);
        if (options.json) process.stdout.write(`${JSON.stringify(entries, null, 2)}\n`);
        else for (const e of entries) process.stdout.write(`${e.at}  ${e.actor.padEnd(12)}  ${e.action.padEnd(26)}  ${e.subject}${e.reason ? `  — ${e.reason}` : ''}\n`);
      }),
    );
}
