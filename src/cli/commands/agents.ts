import type { Command } from 'commander';
import type { AgentKeyInfo } from '../../keys/key-kinds.ts';
import { admin, withApi } from '../admin-command.ts';

/** `onramp agents …`: support agents' personal keys, through the API (admin key). */

const print = (json: boolean, value: unknown, text: () => string) => process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : text());
const row = (k: AgentKeyInfo) => `${k.id}  ${k.name.padEnd(24)}  created ${k.createdAt} by ${k.createdBy}${k.revokedAt ? `  REVOKED ${k.revokedAt} by ${k.revokedBy}` : ''}`;
const audited = (options: { author?: string; reason?: string }) => ({
  ...(options.author ? { author: options.author } : {}),
  ...(options.reason ? { reason: options.reason } : {}),
});

export function agentsCommand(program: Command): void {
  const agents = program.command('agents').description("support agents' personal keys, stored hashed: with one, the handoff endpoints know who acts (admin key)");
  withApi(agents.command('create <name>').description("create a person's agent key (name: an email or a name); it is printed once (stdout), never stored"))
    .option('--author <who>', 'recorded in the audit trail (default admin)')
    .option('--reason <why>', 'recorded in the audit trail')
    .option('--json', "print the API's JSON answer (the key included)")
    .action((name: string, options) =>
      admin(options, async (api) => {
        const created = await api.post<AgentKeyInfo & { key: string }>('/v1/agent-keys', { name, ...audited(options) });
        if (!options.json) process.stderr.write(`created ${created.id} for ${created.name}; the key (shown once):\n`);
        print(options.json, created, () => `${created.key}\n`);
      }),
    );
  withApi(agents.command('list').description('every agent key, oldest first, revoked ones too (ids and names, never the keys)'))
    .option('--json', 'print the raw JSON')
    .action((options) =>
      admin(options, async (api) => {
        const { keys } = await api.get<{ keys: AgentKeyInfo[] }>('/v1/agent-keys');
        print(options.json, keys, () => (keys.length === 0 ? 'no agent keys\n' : keys.map((k) => `${row(k)}\n`).join('')));
      }),
    );
  withApi(agents.command('revoke <id>').description('revoke a key: refused from then on (each API process within 5 s)'))
    .option('--author <who>', 'recorded in the audit trail (default admin)')
    .option('--reason <why>', 'recorded in the audit trail')
    .option('--json', "print the API's JSON answer")
    .action((id: string, options) =>
      admin(options, async (api) => {
        const query = new URLSearchParams(audited(options));
        const result = await api.delete<{ changed: boolean; key: AgentKeyInfo }>(`/v1/agent-keys/${encodeURIComponent(id)}${query.size > 0 ? `?${query}` : ''}`);
        print(options.json, result, () => `${result.changed ? 'revoked' : 'already revoked'}: ${row(result.key)}\n`);
      }),
    );
}
