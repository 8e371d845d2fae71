import { Option, type Command } from 'commander';
import { HANDOFF_ORDERS } from '../../api/read-handoffs.ts';
import type { CaseView } from '../../cases/case-context.ts';
import type { ApiClient } from '../../client/api-client.ts';
import { CASE_STATUSES } from '../../metrics/automation-share.ts';
import { agent, withAgentApi } from '../admin-command.ts';
import { formatHandoff, formatHandoffList, type SummarizedCase, type WholeCase } from '../format-handoff.ts';
import { intInRange } from '../option-parsers.ts';

/** `onramp handoffs …`: the handoff cases without Slack, through the API (agent or admin key). */

const print = (json: boolean, value: unknown, text: () => string) => process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : text());
const casePath = (id: string) => `/v1/handoffs/${encodeURIComponent(id)}`;

interface ActedOn {
  changed: boolean;
  case: CaseView;
}

/** One action on a case: the API's answer, as a line or (`--json`) whole. */
function act(id: string, options: { json?: boolean; url?: string; key?: string }, body: Record<string, unknown>, done: string) {
  return agent(options, async (api: ApiClient) => {
    const acted = await api.post<ActedOn>(`${casePath(id)}/actions`, body);
    const c = acted.case;
    print(Boolean(options.json), acted, () => `${acted.changed ? done : 'unchanged'}: ${c.id} is ${c.status}${c.owner ? ` (owner ${c.owner})` : ''}\n`);
  });
}

const withActor = (command: Command) =>
  withAgentApi(command)
    .option('--actor <who>', "who acts, recorded in the case log (a name, an email); with a personal agent key, the key's name: leave it out")
    .option('--json', "print the API's JSON answer");

export function handoffsCommand(program: Command): void {
  const handoffs = program.command('handoffs').description('the cases escalated to a person, without Slack: the queue, a case whole, and acting on it (agent key)');
  withAgentApi(
    handoffs
      .command('list')
      .description(
        'cases newest first (or by next deadline: --order due; riskiest developer first: --order risk), each with its stage, stagnation risk, stuck time, SLA and first diagnosis line',
      ),
  )
    .addOption(new Option('--status <status>', 'open, claimed, snoozed, returned, resolved, or active (every case still open)').choices([...CASE_STATUSES, 'active']))
    .option('--developer <id>', "only this developer's cases")
    .option('--owner <name>', 'only the cases this agent owns')
    .option('--level <n>', 'only cases at this escalation level', intInRange('--level', 1, 100))
    .option('--criterion <criterion>', 'only cases opened by this criterion, e.g. support_ticket')
    .option('--breached', 'only cases past an SLA')
    .addOption(
      new Option(
        '--order <order>',
        "newest (opened, newest first), due (the queue: next deadline first) or risk (the developer's stagnation risk, highest first; with --status active, open, claimed or snoozed)",
      )
        .choices(HANDOFF_ORDERS)
        .default('newest'),
    )
    .option('--limit <n>', 'cases (1–200)', intInRange('--limit', 1, 200), 50)
    .option('--cursor <cursor>', 'the next page (printed after a full page)')
    .option('--json', 'print the raw JSON')
    .action((options) =>
      agent(options, async (api) => {
        const query = new URLSearchParams({
          limit: String(options.limit),
          ...(options.status ? { status: options.status } : {}),
          ...(options.developer ? { developer: options.developer } : {}),
          ...(options.owner ? { owner: options.owner } : {}),
          ...(options.level ? { level: String(options.level) } : {}),
          ...(options.criterion ? { criterion: options.criterion } : {}),
          ...(options.breached ? { breached: 'true' } : {}),
          order: options.order,
          ...(options.cursor ? { cursor: options.cursor } : {}),
        });
        const page = await api.get<{ handoffs: SummarizedCase[]; nextCursor: string | null }>(`/v1/handoffs?${query}`);
        print(options.json, page, () => `${formatHandoffList(page.handoffs)}${page.nextCursor ? `more: --cursor ${page.nextCursor}\n` : ''}`);
      }),
    );
  withAgentApi(handoffs.command('show <id>').description('one case whole: who, stage, why it escalated, SLA, diagnosis, nudges, timeline and log'))
    .option('--json', 'print the raw JSON')
    .action((id: string, options) =>
      agent(options, async (api) => {
        const whole = await api.get<WholeCase>(casePath(id));
        print(options.json, whole, () => formatHandoff(whole));
      }),
    );
  withActor(handoffs.command('claim <id>').description('take the case (a claim by its owner changes nothing)'))
    .option('--take-over', 'take over a case someone else claimed (without it, such a claim is refused)')
    .action((id: string, options) => act(id, options, { action: 'claim', actor: options.actor, ...(options.takeOver ? { takeOver: true } : {}) }, 'claimed'));
  withActor(handoffs.command('note <id> <text>').description('add a note to the case log')).action((id: string, text: string, options) =>
    act(id, options, { action: 'note', actor: options.actor, note: text }, 'noted'),
  );
  withActor(handoffs.command('snooze <id> <for>').description('set the case aside for a while, e.g. 1h or 1d (at most 7d)')).action((id: string, duration: string, options) =>
    act(id, options, { action: 'snooze', actor: options.actor, for: duration }, 'snoozed'),
  );
  withActor(handoffs.command('return <id>').description('close the case: automated nudges take over again'))
    .option('--note <text>', 'why, recorded in the log')
    .action((id: string, options) => act(id, options, { action: 'return', actor: options.actor, ...(options.note ? { note: options.note } : {}) }, 'returned'));
  withActor(handoffs.command('resolve <id> <outcome>').description('close the case with one of its outcomes (`show` lists them)'))
    .option('--note <text>', 'what was done, recorded in the log')
    .option('--friction <id>', "what got in the developer's way: one of the policy's frictions (`show` lists them)")
    .action((id: string, outcome: string, options) =>
      act(
        id,
        options,
        { action: 'resolve', actor: options.actor, outcome, ...(options.friction ? { friction: options.friction } : {}), ...(options.note ? { note: options.note } : {}) },
        'resolved',
      ),
    );
}
