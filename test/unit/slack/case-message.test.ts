import type { KnownBlock } from '@slack/web-api';
import { describe, expect, it } from 'vitest';
import type { CaseContext, CaseView } from '../../../src/cases/case-context.ts';
import { buildCaseMessage, buildNoteModal, buildResolveModal, buildStepReply, humanDuration, SLACK_LIMITS } from '../../../src/slack/case-message.ts';
import { maskEmail } from '../../../src/cases/gather-case-context.ts';
import { ACTION_IDS, actionsBlockId, decodeModalMetadata } from '../../../src/slack/slack-interaction.ts';
import { caseViewFixture } from '../../support/case-view.ts';

const outcomes = ['unblocked', 'not-a-fit', 'bug-filed', 'no-response'];

/** A case a rule's escalate action opened. */
const view = (over: Partial<CaseView> = {}): CaseView =>
  caseViewFixture({ id: 'dev_42/h1', developerId: 'dev_42', criterion: 'rule:first-call-help', rule: { id: 'first-call-help', version: 3 }, policyVersion: 2, outcomes, ...over });

const context = (over: Partial<CaseContext> = {}): CaseContext => ({
  developer: { id: 'dev_42', email: maskEmail('jane.doe@example.com'), accountType: 'organization', orgId: 'org_9', channel: 'partner-referral', timezone: 'Europe/Berlin' },
  stage: { id: 'credential_provisioned', label: 'Credential provisioned' },
  stageReachedAt: '2026-10-26T12:00:00.000Z',
  stuckForSeconds: 7 * 86_400 + 3 * 3_600 + 120,
  timeline: [
    { at: '2026-10-26T11:00:00.000Z', what: 'reached Account created' },
    { at: '2026-10-26T12:00:00.000Z', what: 'reached Credential provisioned' },
    { at: '2026-10-27T12:00:00.000Z', what: 'nudge sent: first-call-help' },
    { at: '2026-10-27T13:00:00.000Z', what: 'email.opened' },
  ],
  nudges: [
    { at: '2026-10-27T12:00:00.000Z', template: 'first-call', ruleId: 'first-call-help', outcome: 'sent', reason: null },
    { at: '2026-10-29T12:00:00.000Z', template: null, ruleId: 'first-call-second-nudge', outcome: 'skipped', reason: 'frequency_cap' },
  ],
  engagement: { opened: 2, clicked: 1, segment: 'medium' },
  diagnosis: ['12 × 401 on /v1/charges: credentials used wrongly', 'test key used against live endpoint'],
  journeyUrl: 'https://onramp.test/v1/developers/dev_42/journey',
  dashboardUrl: 'https://onramp.test/dashboard?developer=dev_42&x=|y',
  inboxUrl: 'https://onramp.test/dashboard/handoffs',
  ...over,
});

const texts = (blocks: KnownBlock[]): string[] =>
  blocks.flatMap((b) => {
    const out: string[] = [];
    const block = b as { text?: { text: string }; fields?: { text: string }[]; elements?: { text?: string | { text: string } }[] };
    if (block.text) out.push(block.text.text);
    for (const f of block.fields ?? []) out.push(f.text);
    for (const e of block.elements ?? []) if (typeof e.text === 'string') out.push(e.text);
    return out;
  });
const all = (blocks: KnownBlock[]) => texts(blocks).join('\n');
const actions = (blocks: KnownBlock[]) =>
  blocks.find((b) => b.type === 'actions') as { block_id: string; elements: { action_id: string; type: string; value?: string; options?: { value: string }[] }[] } | undefined;

function withinLimits(blocks: KnownBlock[]) {
  expect(blocks.length).toBeLessThanOrEqual(SLACK_LIMITS.blocks);
  for (const block of blocks) {
    const b = block as { type: string; text?: { text: string }; fields?: { text: string }[] };
    if (b.type === 'section' && b.text) expect(b.text.text.length).toBeLessThanOrEqual(3000);
    if (b.type === 'header') expect(b.text!.text.length).toBeLessThanOrEqual(150);
    for (const f of b.fields ?? []) expect(f.text.length).toBeLessThanOrEqual(2000);
  }
}

describe('case message (Block Kit)', () => {
  it('shows who the developer is, with the email masked', () => {
    const { blocks } = buildCaseMessage({ view: view(), context: context(), outcomes });
    const header = blocks.find((b) => b.type === 'header') as { text: { text: string } };
    expect(header.text.text).toContain('dev_42');
    expect(header.text.text).toContain('· Credential provisioned');
    const text = all(blocks);
    for (const expected of ['*Account type*\norganization', '`org_9`', 'partner-referral', 'Europe/Berlin', '`j***@example.com`']) expect(text).toContain(expected);
    expect(text).not.toContain('jane.doe');
    expect(maskEmail('jane.doe@example.com')).toBe('j***@example.com');
    expect(maskEmail('not-an-email')).toBe('***');
  });

  it('says how long, why (reason, criterion, rule and version, policy version), the diagnosis and the nudges', () => {
    const text = all(buildCaseMessage({ view: view(), context: context(), outcomes }).blocks);
    expect(text).toContain('Stuck in *Credential provisioned* for *7 days 3 hours*');
    expect(text).toContain('*Stage*\nCredential provisioned');
    expect(text).toContain('no first API call 7 days after the key');
    expect(text).toContain('criterion `rule:first-call-help`');
    expect(text).toContain('rule `first-call-help` v3');
    expect(text).toContain('escalation policy v2');
    expect(text).toContain('12 × 401 on /v1/charges: credentials used wrongly');
    expect(text).toContain('*Nudges:* 1 sent · opened 2 · clicked 1 · engagement `medium`');
    expect(text).toMatch(/`first-call-second-nudge` — skipped \(frequency_cap\)/);
    expect(text).toContain('email.opened');
  });

  it('status line: open with the claim and resolution SLAs as Slack dates; claimed by a mention; breaches', () => {
    const open = all(buildCaseMessage({ view: view(), context: context(), outcomes }).blocks);
    expect(open).toContain('*Status:* :red_circle: *Open*, unclaimed · level 1');
    expect(open).toContain(`claim by <!date^${Date.parse('2026-11-02T16:00:00Z') / 1000}^{date_short_pretty} {time}|2026-11-02 16:00 UTC>`);
    expect(open).toContain(`resolve by <!date^${Date.parse('2026-11-04T12:00:00Z') / 1000}^`);

    // In office hours: the due time on the team's clock, said to be in business hours.
    const inHours = all(buildCaseMessage({ view: view({ officeHours: { claim: 'Europe/Paris', resolution: null } }), context: context(), outcomes }).blocks);
    expect(inHours).toContain('claim due Mon 2026-11-02 17:00 Europe/Paris (business hours)');
    expect(inHours).toContain(`resolve by <!date^${Date.parse('2026-11-04T12:00:00Z') / 1000}^`);

    const claimed = buildCaseMessage({
      view: view({ status: 'claimed', owner: 'U0AGENT1', claimedAt: '2026-11-02T13:00:00.000Z', claimDueAt: null, level: 2, breaches: ['claim'] }),
      context: context(),
      outcomes,
    });
    const text = all(claimed.blocks);
    expect(text).toContain('*Claimed* by <@U0AGENT1>');
    expect(text).toContain('level 2');
    expect(text).toContain(':warning: SLA breached: claim');
    expect(text).not.toContain('claim by');
    // An API actor is shown by name, escaped.
    expect(all(buildCaseMessage({ view: view({ status: 'claimed', owner: 'ops <bot>' }), context: context(), outcomes }).blocks)).toContain('by ops &lt;bot&gt;');
  });

  it('actions: Claim, Add note, Snooze (1h, 1d), Return, Resolve (the outcomes), each carrying the case id', () => {
    const a = actions(buildCaseMessage({ view: view(), context: context(), outcomes }).blocks)!;
    expect(a.block_id).toBe(actionsBlockId('dev_42/h1'));
    expect(a.elements.map((e) => e.action_id)).toEqual([ACTION_IDS.claim, ACTION_IDS.note, ACTION_IDS.snooze, ACTION_IDS.return, ACTION_IDS.resolve]);
    for (const e of a.elements.filter((e) => e.type === 'button')) expect(e.value).toBe('dev_42/h1');
    expect(a.elements[2]!.options!.map((o) => o.value)).toEqual(['1h', '1d']);
    expect(a.elements[4]!.options!.map((o) => o.value)).toEqual(outcomes);
  });

  it('hides Claim once claimed, offers Take over while someone owns the case, and hides every action once the case is closed', () => {
    const claimed = actions(buildCaseMessage({ view: view({ status: 'claimed', owner: 'U0AGENT1' }), context: context(), outcomes }).blocks)!;
    expect(claimed.elements.map((e) => e.action_id)).not.toContain(ACTION_IDS.claim);
    expect(claimed.elements[0]).toMatchObject({ action_id: ACTION_IDS.takeOver, value: 'dev_42/h1' });
    const snoozed = actions(buildCaseMessage({ view: view({ status: 'snoozed', owner: 'U0AGENT1', snoozedUntil: '2026-11-02T14:00:00Z' }), context: context(), outcomes }).blocks)!;
    expect(snoozed.elements.slice(0, 2).map((e) => e.action_id)).toEqual([ACTION_IDS.claim, ACTION_IDS.takeOver]);
    expect(actions(buildCaseMessage({ view: view(), context: context(), outcomes }).blocks)!.elements.map((e) => e.action_id)).not.toContain(ACTION_IDS.takeOver);

    for (const status of ['resolved', 'returned'] as const) {
      const { blocks } = buildCaseMessage({
        view: view({ status, owner: 'U0AGENT1', outcome: status === 'resolved' ? 'unblocked' : null, closedAt: '2026-11-03T10:00:00Z', claimDueAt: null }),
        context: context(),
        outcomes,
      });
      expect(actions(blocks)).toBeUndefined();
      const text = all(blocks);
      expect(text).toContain(status === 'resolved' ? '*Resolved* — outcome `unblocked`' : '*Returned to automation*');
      expect(text).not.toContain('resolve by');
      expect(text).toContain('|journey>'); // the journey stays one click away
    }
  });

  it('mentions user groups and users at the top, and in the notification text', () => {
    const { text, blocks } = buildCaseMessage({ view: view(), context: context(), outcomes, mention: ['S0ONBOARDING', 'U0LEAD'] });
    expect(texts(blocks)[0]).toMatch(/^<!subteam\^S0ONBOARDING> <@U0LEAD> /);
    expect(text).toMatch(
      /^<!subteam\^S0ONBOARDING> <@U0LEAD> Onramp handoff \(open, level 1\): developer dev_42 stuck in Credential provisioned for 7 days 3 hours — no first API call/,
    );
  });

  it('links the case in the inbox page (button) and the journey in the dashboard (context link, URL escaped)', () => {
    const { blocks } = buildCaseMessage({ view: view(), context: context(), outcomes });
    const fields = blocks.find((b) => b.type === 'section' && 'fields' in b && b.fields) as { accessory: { url: string; action_id: string } };
    expect(fields.accessory).toMatchObject({ action_id: ACTION_IDS.openJourney, url: 'https://onramp.test/dashboard/handoffs?case=dev_42.h1', text: { text: 'Open case' } });
    expect(all(blocks)).toContain('<https://onramp.test/dashboard?developer=dev_42&amp;x=%7Cy|journey>');
  });

  it('escapes what developers and agents wrote, so it cannot mention or link', () => {
    const { blocks, text } = buildCaseMessage({
      view: view({ reason: 'support ticket: <!channel> help & <https://evil|click>' }),
      context: context({ diagnosis: ['<@U0BOSS> look'], timeline: [{ at: '2026-10-27T13:00:00Z', what: '<!here>' }] }),
      outcomes,
    });
    const joined = `${all(blocks)}\n${text}`;
    expect(joined).not.toMatch(/<!channel>|<!here>|<@U0BOSS>|<https:\/\/evil/);
    expect(joined).toContain('&lt;!channel&gt; help &amp; &lt;https://evil|click&gt;');
  });

  it('stays within Slack limits with a long timeline, many nudges and a long diagnosis', () => {
    const long = 'x'.repeat(900);
    const ctx = context({
      timeline: Array.from({ length: 500 }, (_, i) => ({ at: new Date(Date.UTC(2026, 9, 1) + i * 60_000).toISOString(), what: `event ${i} ${long}` })),
      nudges: Array.from({ length: 40 }, (_, i) => ({ at: '2026-10-27T12:00:00Z', template: 't'.repeat(200), ruleId: `rule-${i}`, outcome: 'skipped', reason: long })),
      diagnosis: Array.from({ length: 60 }, (_, i) => `${i}: ${long}`),
    });
    const { blocks, text } = buildCaseMessage({ view: view({ reason: long.repeat(5) }), context: ctx, outcomes, mention: ['S0ONE', 'S0TWO'] });
    withinLimits(blocks);
    expect(text.length).toBeLessThanOrEqual(700);
    const timeline = texts(blocks).find((t) => t.startsWith('*Timeline*'))!;
    expect(timeline).toContain('(last 10 of 500)');
    expect(timeline).toContain('event 499'); // the newest survive
    expect(timeline).not.toContain('event 489 ');
    expect(texts(blocks).find((t) => t.startsWith('*First-session diagnosis*'))).toMatch(/more_$/);
  });

  it('copes with a developer with no stage, no nudges and unknown profile fields', () => {
    const { blocks } = buildCaseMessage({
      view: view({ rule: undefined as never }),
      context: context({
        developer: { id: 'dev_1', email: null, accountType: null, orgId: null, channel: null, timezone: null },
        stage: null,
        stageReachedAt: null,
        stuckForSeconds: null,
        timeline: [],
        nudges: [],
        diagnosis: [],
        journeyUrl: '',
        dashboardUrl: '',
        inboxUrl: '',
      }),
      outcomes: [],
    });
    withinLimits(blocks);
    const text = all(blocks);
    expect(text).toContain('*Email*\n—');
    expect(text).toContain('No stage reached yet');
    expect(text).toContain('No nudges yet.');
    expect(actions(blocks)!.elements.map((e) => e.action_id)).not.toContain(ACTION_IDS.resolve); // no outcomes: no empty menu
  });

  it('human durations', () => {
    expect(humanDuration(30)).toBe('less than a minute');
    expect(humanDuration(60)).toBe('1 minute');
    expect(humanDuration(5 * 3600 + 600)).toBe('5 hours 10 minutes');
    expect(humanDuration(86_400)).toBe('1 day');
    expect(humanDuration(3 * 86_400 + 4 * 3600 + 59)).toBe('3 days 4 hours');
  });
});

describe('thread replies for steps', () => {
  const at = '2026-11-02T13:00:00.000Z';
  it.each([
    [{ step: 'claimed', actor: 'U0AGENT1', at }, 'Claimed by <@U0AGENT1>'],
    [{ step: 'claimed', actor: 'U0AGENT2', at, detail: { from: 'U0AGENT1' } }, 'Claimed by <@U0AGENT2> (taken over from <@U0AGENT1>)'],
    [{ step: 'note', actor: 'U0AGENT1', at, detail: { text: 'Asked for <logs> & traces' } }, 'Note from <@U0AGENT1>: Asked for &lt;logs&gt; &amp; traces'],
    [{ step: 'snoozed', actor: 'U0AGENT1', at, detail: { forMs: 3_600_000, until: '2026-11-02T14:00:00.000Z' } }, /^Snoozed 1 h by <@U0AGENT1> \(until <!date\^/],
    [{ step: 'snoozed', actor: 'api:ops', at, detail: { forMs: 86_400_000 } }, 'Snoozed 1 d by api:ops'],
    [{ step: 'snooze_ended', actor: null, at, detail: {} }, 'Snooze ended: the case is open again'],
    [{ step: 'sla_breached', actor: null, at, detail: { sla: 'claim', level: 1, escalatedTo: 2 } }, 'Claim SLA breached: escalated to level 2'],
    [{ step: 'sla_breached', actor: null, at, detail: { sla: 'resolution', level: 2 } }, 'Resolution SLA breached: no level above 2; marked as breached'],
    [{ step: 're_escalated', actor: null, at, detail: { level: 2, channel: 'C0ESC' } }, 'Re-escalated to level 2 in <#C0ESC>'],
    [{ step: 're_escalated', actor: null, at, detail: { level: 2, channel: '#onboarding-escalations' } }, 'Re-escalated to level 2 in #onboarding-escalations'],
    [{ step: 'returned', actor: 'U0AGENT1', at, detail: {} }, 'Returned to automation by <@U0AGENT1>'],
    [{ step: 'resolved', actor: 'U0AGENT1', at, detail: { outcome: 'unblocked' } }, 'Resolved by <@U0AGENT1> — outcome: unblocked'],
    [{ step: 'resolved', actor: 'U0AGENT1', at, detail: { outcome: 'bug-filed', note: 'JIRA-1\nthanks' } }, 'Resolved by <@U0AGENT1> — outcome: bug-filed\n> JIRA-1\n> thanks'],
    [
      { step: 'resolved', actor: 'U0AGENT1', at, detail: { outcome: 'unblocked', friction: 'missing_docs' } },
      'Resolved by <@U0AGENT1> — outcome: unblocked, friction: missing_docs',
    ],
    [{ step: 'ticket', actor: null, at, detail: { subject: 'Cannot call <API>' } }, 'The developer opened a support ticket: Cannot call &lt;API&gt;'],
    [{ step: 'escalated', actor: null, at, detail: { reason: 'no first API call' } }, 'Escalated: no first API call'],
    [{ step: 'something_new', actor: 'U0AGENT1', at }, 'something new by <@U0AGENT1>'],
  ])('%o', (step, expected) => {
    const reply = buildStepReply(step);
    if (typeof expected === 'string') expect(reply).toBe(expected);
    else expect(reply).toMatch(expected);
  });
});

describe('note modal', () => {
  it('one multiline input (block note, action text, ≤ 2000), the case in private_metadata', () => {
    const modal = buildNoteModal('dev_42/h1', { channel: 'C0HELP', messageTs: '1.2' });
    expect(modal).toMatchObject({ type: 'modal', callback_id: 'onramp.note', submit: { type: 'plain_text' } });
    expect(modal.title.text.length).toBeLessThanOrEqual(24);
    const input = modal.blocks.find((b) => b.type === 'input') as { block_id: string; element: { type: string; action_id: string; multiline: boolean; max_length: number } };
    expect(input).toMatchObject({ block_id: 'note', element: { type: 'plain_text_input', action_id: 'text', multiline: true, max_length: 2000 } });
    expect(decodeModalMetadata(modal.private_metadata!)).toEqual({ caseId: 'dev_42/h1', channel: 'C0HELP', messageTs: '1.2' });
  });
});

describe('resolve modal', () => {
  const frictions = [
    { id: 'authentication_confusion', label: 'Authentication confusion' },
    { id: 'sdk_gap', label: 'SDK gap' },
  ];

  it('the outcome picked in the menu chosen already, an optional friction select of the policy’s frictions, an optional note', () => {
    const modal = buildResolveModal({ caseId: 'dev_42/h1', outcomes: ['unblocked', 'not-a-fit'], chosen: 'not-a-fit', frictions, origin: { channel: 'C0HELP', messageTs: '1.2' } });
    expect(modal).toMatchObject({ type: 'modal', callback_id: 'onramp.resolve', submit: { text: 'Resolve' } });
    expect(modal.title.text.length).toBeLessThanOrEqual(24);
    const inputs = modal.blocks.filter((b) => b.type === 'input') as unknown as { block_id: string; optional?: boolean; element: Record<string, any> }[];
    expect(inputs.map((i) => [i.block_id, i.optional ?? false, i.element.type])).toEqual([
      ['outcome', false, 'static_select'],
      ['friction', true, 'static_select'],
      ['note', true, 'plain_text_input'],
    ]);
    expect(inputs[0]!.element.initial_option).toEqual({ text: { type: 'plain_text', text: 'not a fit', emoji: true }, value: 'not-a-fit' });
    expect(inputs[1]!.element.options.map((o: any) => [o.value, o.text.text])).toEqual([
      ['authentication_confusion', 'Authentication confusion'],
      ['sdk_gap', 'SDK gap'],
    ]);
    expect(inputs[1]!.element).not.toHaveProperty('initial_option');
    expect(decodeModalMetadata(modal.private_metadata!)).toEqual({ caseId: 'dev_42/h1', channel: 'C0HELP', messageTs: '1.2' });
  });

  it('no friction select when the policy lists none; no chosen outcome when the pick is not one of the case’s', () => {
    const modal = buildResolveModal({ caseId: 'dev_42/h1', outcomes: ['unblocked'], chosen: 'gone', frictions: [] });
    expect(modal.blocks.map((b) => b.block_id)).not.toContain('friction');
    expect(JSON.stringify(modal.blocks)).not.toContain('initial_option');
  });
});
