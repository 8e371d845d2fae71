import type { Command } from 'commander';
import type { Annotation } from '../../audit/annotations.ts';
import { admin, withApi } from '../admin-command.ts';

/** `onramp annotations …`: notes on the team's timeline, marked on the cohort charts (admin key). */

const row = (a: Annotation) => `${a.id}  ${a.at}  ${a.text}  (${a.author})`;

export function annotationsCommand(program: Command): void {
  const annotations = program
    .command('annotations')
    .description('notes on the timeline ("new quickstart shipped"), marked on the cohort charts beside every config version (admin key)');
  withApi(annotations.command('add <text>').description('note a change; audited'))
    .option('--at <instant>', 'when it happened, ISO 8601 (default now)')
    .option('--author <who>', 'recorded with it and in the audit trail (default admin)')
    .option('--json', "print the API's JSON answer")
    .action((text: string, options: { at?: string; author?: string; json?: boolean; url?: string; key?: string }) =>
      admin(options, async (api) => {
        const created = await api.post<Annotation>('/v1/annotations', { text, ...(options.at ? { at: options.at } : {}), ...(options.author ? { author: options.author } : {}) });
        process.stdout.write(options.json ? `${JSON.stringify(created, null, 2)}\n` : `${row(created)}\n`);
      }),
    );
  withApi(annotations.command('list').description('the annotations, oldest first'))
    .option('--from <instant>', 'from this instant')
    .option('--to <instant>', 'before this instant')
    .option('--json', 'print the raw JSON')
    .action((options: { from?: string; to?: string; json?: boolean; url?: string; key?: string }) =>
      admin(options, async (api) => {
        const query = new URLSearchParams({ ...(options.from ? { from: options.from } : {}), ...(options.to ? { to: options.to } : {}) });
        const { annotations: list } = await api.get<{ annotations: Annotation[] }>(`/v1/annotations${query.size > 0 ? `?${query}` : ''}`);
        process.stdout.write(options.json ? `${JSON.stringify(list, null, 2)}\n` : list.length === 0 ? 'no annotations\n' : list.map((a) => `${row(a)}\n`).join(''));
      }),
    );
  withApi(annotations.command('delete <id>').description('remove an annotation; audited'))
    .option('--author <who>', 'recorded in the audit trail (default admin)')
    .option('--reason <why>', 'recorded in the audit trail')
    .option('--json', "print the API's JSON answer")
    .action((id: string, options: { author?: string; reason?: string; json?: boolean; url?: string; key?: string }) =>
      admin(options, async (api) => {
        const query = new URLSearchParams({ ...(options.author ? { author: options.author } : {}), ...(options.reason ? { reason: options.reason } : {}) });
        const { deleted } = await api.delete<{ deleted: Annotation }>(`/v1/annotations/${encodeURIComponent(id)}${query.size > 0 ? `?${query}` : ''}`);
        process.stdout.write(options.json ? `${JSON.stringify(deleted, null, 2)}\n` : `deleted: ${row(deleted)}\n`);
      }),
    );
}
