import type { ActionsBlockElement, Button, KnownBlock, ModalView, PlainTextElement, PlainTextOption, StaticSelect } from '@slack/web-api';
import { caseUrlOf, CLOSED_STATUSES, escalationOf, slaStateOf, type CaseContext, type CaseView } from '../cases/case-context.ts';
import { pathSafeCaseId } from '../cases/case-id.ts';
import type { Friction } from '../rules/escalation-policy-schema.ts';
import { ACTION_IDS, actionsBlockId, encodeModalMetadata, NOTE_MODAL, RESOLVE_MODAL, SNOOZE_CHOICES, type ModalOrigin } from './slack-interaction.ts';

/**
 * A handoff case as a Slack message (Block Kit), its thread replies and the note and resolve modals.
 * Everything that came from a developer or an agent is escaped (`&`, `<`, `>`), so it cannot
 * mention `@channel` or forge links; mentions come only from the policy (`mention`).
 */

/** Slack's limits that a case message must stay within. */
export const SLACK_LIMITS = {
  blocks: 50,
  sectionText: 3000,
  fieldText: 2000,
  fields: 10,
  headerText: 150,
  buttonText: 75,
  optionText: 75,
  optionValue: 150,
  options: 100,
  /** The fallback `text` shows in notifications; Slack truncates long ones anyway. */
  fallbackText: 600,
} as const;

export interface CaseMessage {
  /** Fallback for notifications, screen readers and search. */
  text: string;
  blocks: KnownBlock[];
}

export interface CaseMessageInput {
  view: CaseView;
  context: CaseContext;
  /** User groups (S…) and users (U…/W…) to mention at the top. */
  mention?: string[];
  /** The policy's outcomes: the Resolve menu. */
  outcomes: string[];
}

const TIMELINE_ENTRIES = 10;
const NUDGE_ENTRIES = 10;
const LINE_CHARS = 300;

/** Escapes the three characters Slack's mrkdwn treats as control characters. */
export function escapeMrkdwn(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** Inline code: keeps ids, emails and `*` (masked emails) from being read as formatting. */
function code(text: string): string {
  return `\`${escapeMrkdwn(clip(text, LINE_CHARS).replaceAll('`', "'"))}\``;
}

const plain = (text: string, max: number = SLACK_LIMITS.sectionText): PlainTextElement => ({ type: 'plain_text', text: clip(text, max), emoji: true });
const mrkdwnSection = (text: string): KnownBlock => ({ type: 'section', text: { type: 'mrkdwn', text: clip(text, SLACK_LIMITS.sectionText) } });

/** A Slack date token: shown in each reader's time zone, with a UTC fallback. */
export function slackDate(iso: string, format = '{date_short_pretty} {time}'): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return escapeMrkdwn(iso);
  const fallback = `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  return `<!date^${Math.floor(ms / 1000)}^${format}|${fallback}>`;
}

/** `3 days 4 hours`, `5 hours 10 minutes`, `12 minutes`, `less than a minute`. */
export function humanDuration(seconds: number): string {
  const units: [string, number][] = [
    ['day', 86_400],
    ['hour', 3_600],
    ['minute', 60],
  ];
  const whole = Math.max(0, Math.floor(seconds));
  const first = units.findIndex(([, size]) => whole >= size);
  if (first === -1) return 'less than a minute';
  const parts: string[] = [];
  let rest = whole;
  for (const [name, size] of units.slice(first, first + 2)) {
    const count = Math.floor(rest / size);
    rest -= count * size;
    if (count > 0) parts.push(`${count} ${name}${count === 1 ? '' : 's'}`);
  }
  return parts.join(' ');
}

/** `1 h`, `1 d`, `30 min`. */
function shortDuration(ms: number): string {
  if (ms > 0 && ms % 86_400_000 === 0) return `${ms / 86_400_000} d`;
  if (ms > 0 && ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  return `${Math.max(1, Math.round(ms / 60_000))} min`;
}

const SLACK_USER = /^[UW][A-Z0-9]{2,}$/;

/** A mention token for a user group (S…) or user (U…/W…). */
export function mentionToken(id: string): string {
  if (/^S[A-Z0-9]{2,}$/.test(id)) return `<!subteam^${id}>`;
  if (SLACK_USER.test(id)) return `<@${id}>`;
  return escapeMrkdwn(id);
}

/** An actor: a Slack user id becomes a mention, anything else (an API caller) is shown as text. */
function who(actor: string | null | undefined): string {
  if (!actor) return 'Onramp';
  return SLACK_USER.test(actor) ? `<@${actor}>` : escapeMrkdwn(clip(actor, 80));
}

/**
 * A titled list that fits one section: drops entries from the start (`keep: 'last'`) or the end
 * (`keep: 'first'`) and says how many it left out.
 */
function listSection(title: string, lines: string[], keep: 'first' | 'last'): string {
  const budget = SLACK_LIMITS.sectionText - title.length - 40;
  const ordered = keep === 'last' ? [...lines].reverse() : lines;
  const kept: string[] = [];
  let used = 0;
  for (const line of ordered) {
    if (used + line.length + 1 > budget) break;
    kept.push(line);
    used += line.length + 1;
  }
  const left = lines.length - kept.length;
  const shown = keep === 'last' ? kept.reverse() : kept;
  const more = left > 0 ? (keep === 'last' ? [`_…${left} earlier_`] : [`_…${left} more_`]) : [];
  return [title, ...(keep === 'last' ? [...more, ...shown] : [...shown, ...more])].join('\n');
}

function statusLine(view: CaseView): string {
  const parts: string[] = [];
  switch (view.status) {
    case 'open':
      parts.push(`:red_circle: *Open*, unclaimed${view.owner ? ` (last owner ${who(view.owner)})` : ''}`);
      break;
    case 'claimed':
      parts.push(`:large_yellow_circle: *Claimed* by ${who(view.owner)}${view.claimedAt ? ` ${slackDate(view.claimedAt)}` : ''}`);
      break;
    case 'snoozed':
      parts.push(`:zzz: *Snoozed*${view.snoozedUntil ? ` until ${slackDate(view.snoozedUntil)}` : ''}${view.owner ? ` · owner ${who(view.owner)}` : ''}`);
      break;
    case 'returned':
      parts.push(`:leftwards_arrow_with_hook: *Returned to automation*${view.closedAt ? ` ${slackDate(view.closedAt)}` : ''}${view.owner ? ` · owner ${who(view.owner)}` : ''}`);
      break;
    case 'resolved':
      parts.push(
        `:white_check_mark: *Resolved*${view.outcome ? ` — outcome ${code(view.outcome)}` : ''}${view.closedAt ? ` ${slackDate(view.closedAt)}` : ''}${view.owner ? ` · owner ${who(view.owner)}` : ''}`,
      );
      break;
  }
  // The SLA state as the API shows it (slaStateOf): a due time only while it can still fall due.
  const sla = slaStateOf(view);
  parts.push(`level ${sla.level}`);
  // A due time in office hours reads in their zone (Slack's own date token shows the reader's).
  const { claimDue, resolveDue } = sla.businessHours ?? {};
  if (sla.claimDueAt) parts.push(claimDue ? `claim due ${escapeMrkdwn(claimDue)} (business hours)` : `claim by ${slackDate(sla.claimDueAt)}`);
  if (sla.resolveDueAt) parts.push(resolveDue ? `resolve due ${escapeMrkdwn(resolveDue)} (business hours)` : `resolve by ${slackDate(sla.resolveDueAt)}`);
  if (sla.breaches.length > 0) parts.push(`:warning: SLA breached: ${sla.breaches.join(', ')}`);
  return `*Status:* ${parts.join(' · ')}`;
}

function actionsBlock(view: CaseView, outcomes: string[]): KnownBlock {
  const elements: ActionsBlockElement[] = [];
  if (view.status !== 'claimed') {
    elements.push({ type: 'button', action_id: ACTION_IDS.claim, text: plain('Claim', SLACK_LIMITS.buttonText), style: 'primary', value: view.id } satisfies Button);
  }
  if (view.owner && (view.status === 'claimed' || view.status === 'snoozed')) {
    // Only the owner acts on a claimed case; anyone else takes it over first, explicitly.
    elements.push({
      type: 'button',
      action_id: ACTION_IDS.takeOver,
      text: plain('Take over', SLACK_LIMITS.buttonText),
      value: view.id,
      confirm: {
        title: plain('Take over this case?', 100),
        text: plain('It becomes yours; the log names you and the previous owner.', 300),
        confirm: plain('Take over', 30),
        deny: plain('Cancel', 30),
      },
    } satisfies Button);
  }
  elements.push({ type: 'button', action_id: ACTION_IDS.note, text: plain('Add note', SLACK_LIMITS.buttonText), value: view.id } satisfies Button);
  elements.push({
    type: 'static_select',
    action_id: ACTION_IDS.snooze,
    placeholder: plain('Snooze…', SLACK_LIMITS.optionText),
    options: (Object.keys(SNOOZE_CHOICES) as (keyof typeof SNOOZE_CHOICES)[]).map((choice) => ({
      text: plain(choice === '1h' ? '1 hour' : '1 day', SLACK_LIMITS.optionText),
      value: choice,
    })),
  } satisfies StaticSelect);
  elements.push({
    type: 'button',
    action_id: ACTION_IDS.return,
    text: plain('Return to automation', SLACK_LIMITS.buttonText),
    value: view.id,
    confirm: {
      title: plain('Return to automation?', 100),
      text: plain('Closes the case; automated nudges take over again.', 300),
      confirm: plain('Return', 30),
      deny: plain('Cancel', 30),
    },
  } satisfies Button);
  const options = outcomeOptions(outcomes);
  if (options.length > 0) {
    // No confirm dialog: the outcome opens the resolve modal (friction, note), whose submit confirms.
    elements.push({ type: 'static_select', action_id: ACTION_IDS.resolve, placeholder: plain('Resolve…', SLACK_LIMITS.optionText), options } satisfies StaticSelect);
  }
  return { type: 'actions', block_id: actionsBlockId(view.id), elements };
}

function outcomeOptions(outcomes: readonly string[]): PlainTextOption[] {
  return outcomes
    .filter((outcome) => outcome.length > 0 && outcome.length <= SLACK_LIMITS.optionValue)
    .slice(0, SLACK_LIMITS.options)
    .map((outcome) => ({ text: plain(outcome.replaceAll('-', ' '), SLACK_LIMITS.optionText), value: outcome }));
}

/** The case message: posted once per level, updated in place after every step. */
export function buildCaseMessage({ view, context, mention = [], outcomes }: CaseMessageInput): CaseMessage {
  const dev = context.developer;
  const closed = CLOSED_STATUSES.includes(view.status);
  const stage = context.stage?.label ?? null;
  const mentions = mention.map(mentionToken).join(' ');
  const blocks: KnownBlock[] = [];

  if (mentions) blocks.push(mrkdwnSection(`${mentions} a developer needs a person`));
  blocks.push({ type: 'header', text: plain(`${closed ? '✅ ' : '🆘 '}Developer ${dev.id} · ${stage ?? 'no stage yet'}`, SLACK_LIMITS.headerText) });

  const field = (label: string, value: string | null, asCode = false) => ({
    type: 'mrkdwn' as const,
    text: clip(`*${label}*\n${value ? (asCode ? code(value) : escapeMrkdwn(clip(value, LINE_CHARS))) : '—'}`, SLACK_LIMITS.fieldText),
  });
  blocks.push({
    type: 'section',
    fields: [
      field('Account type', dev.accountType),
      field('Organization', dev.orgId, true),
      field('Acquisition channel', dev.channel),
      field('Time zone', dev.timezone),
      field('Email', dev.email, true),
      field('Stage', stage),
    ],
    // The case in the inbox page: its context, log and actions, for an agent with an agent key.
    ...(context.inboxUrl
      ? {
          accessory: {
            type: 'button',
            action_id: ACTION_IDS.openJourney,
            text: plain('Open case', SLACK_LIMITS.buttonText),
            url: clip(caseUrlOf(context, view.id), 3000),
          } satisfies Button,
        }
      : {}),
  });

  const stuck = stage
    ? `:hourglass_flowing_sand: Stuck in *${escapeMrkdwn(stage)}*${context.stuckForSeconds !== null ? ` for *${humanDuration(context.stuckForSeconds)}*` : ''}${context.stageReachedAt ? ` (reached ${slackDate(context.stageReachedAt)})` : ''}`
    : ':hourglass_flowing_sand: No stage reached yet';
  blocks.push(mrkdwnSection(stuck));

  // Why it escalated, as the API shows it (escalationOf).
  const escalation = escalationOf(view);
  const provenance = [
    `criterion ${code(escalation.criterion)}`,
    ...(escalation.rule ? [`rule ${code(escalation.rule.id)} v${escalation.rule.version}`] : []),
    `escalation policy v${escalation.policyVersion}`,
    `opened ${slackDate(escalation.openedAt)}`,
  ];
  blocks.push(mrkdwnSection(`*Why it escalated:* ${escapeMrkdwn(clip(escalation.reason, 1000))}\n${provenance.join(' · ')}`));

  if (context.diagnosis.length > 0) {
    blocks.push(
      mrkdwnSection(
        listSection(
          '*First-session diagnosis*',
          context.diagnosis.map((line) => `• ${escapeMrkdwn(clip(line, LINE_CHARS))}`),
          'first',
        ),
      ),
    );
  }

  const sent = context.nudges.filter((n) => n.outcome === 'sent').length;
  const { opened, clicked, segment } = context.engagement;
  const nudgeTitle = `*Nudges:* ${sent} sent · opened ${opened} · clicked ${clicked} · engagement ${code(segment)}${context.emailSuppressed ? `\n:no_entry: ${escapeMrkdwn(context.emailSuppressed)}` : ''}`;
  const nudgeLines = context.nudges.slice(-NUDGE_ENTRIES).map((n) => {
    const template = n.template ? ` (template ${code(n.template)})` : '';
    const reason = n.reason ? ` (${escapeMrkdwn(clip(n.reason, 200))})` : '';
    return `• ${slackDate(n.at, '{date_short} {time}')} ${code(n.ruleId)}${template} — ${escapeMrkdwn(clip(n.outcome, 60))}${reason}`;
  });
  const earlierNudges = context.nudges.length - nudgeLines.length;
  blocks.push(
    mrkdwnSection(
      context.nudges.length === 0
        ? `${nudgeTitle}\nNo nudges yet.`
        : listSection(earlierNudges > 0 ? `${nudgeTitle} (last ${nudgeLines.length} of ${context.nudges.length})` : nudgeTitle, nudgeLines, 'last'),
    ),
  );

  if (context.timeline.length > 0) {
    const recent = context.timeline.slice(-TIMELINE_ENTRIES);
    const title = context.timeline.length > recent.length ? `*Timeline* (last ${recent.length} of ${context.timeline.length})` : '*Timeline*';
    blocks.push(
      mrkdwnSection(
        listSection(
          title,
          recent.map((entry) => `• ${slackDate(entry.at, '{date_short} {time}')} ${escapeMrkdwn(clip(entry.what, LINE_CHARS))}`),
          'last',
        ),
      ),
    );
  }

  blocks.push({ type: 'divider' });
  blocks.push(mrkdwnSection(statusLine(view)));
  if (!closed) blocks.push(actionsBlock(view, outcomes));
  blocks.push({
    type: 'context',
    elements: [
      {
        type: 'mrkdwn',
        text: clip(
          `Case ${code(pathSafeCaseId(view.id))}${context.dashboardUrl ? ` · <${escapeMrkdwn(context.dashboardUrl).replaceAll('|', '%7C')}|journey>` : ''} · Onramp`,
          SLACK_LIMITS.sectionText,
        ),
      },
    ],
  });

  const summary = [
    `Onramp handoff (${view.status}, level ${view.level}): developer ${dev.id}`,
    stage ? ` stuck in ${stage}${context.stuckForSeconds !== null ? ` for ${humanDuration(context.stuckForSeconds)}` : ''}` : '',
    ` — ${view.reason}`,
  ].join('');
  const text = `${mentions ? `${mentions} ` : ''}${escapeMrkdwn(clip(summary, SLACK_LIMITS.fallbackText))}`;
  return { text, blocks: blocks.slice(0, SLACK_LIMITS.blocks) };
}

/** One step of a case, as it would stand in the step log. */
export interface CaseStep {
  step: string;
  actor: string | null;
  at: string;
  detail?: Record<string, unknown>;
}

const str = (value: unknown): string | undefined => (typeof value === 'string' && value.length > 0 ? value : undefined);
const num = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) ? value : undefined);

function channelRef(channel: string): string {
  return /^[CG][A-Z0-9]{2,}$/.test(channel) ? `<#${channel}>` : escapeMrkdwn(channel);
}

/** The thread reply for a step ("Claimed by <@U1>", "Resolved by <@U1> — outcome: unblocked"). */
export function buildStepReply(step: CaseStep): string {
  const detail = step.detail ?? {};
  const by = who(step.actor);
  switch (step.step) {
    case 'escalated': {
      const reason = str(detail.reason);
      return `Escalated${reason ? `: ${escapeMrkdwn(clip(reason, 1000))}` : ''}`;
    }
    case 'ticket': {
      const subject = str(detail.subject);
      return `The developer opened a support ticket${subject ? `: ${escapeMrkdwn(clip(subject, 200))}` : ''}`;
    }
    case 'claimed': {
      const from = str(detail.from);
      return `Claimed by ${by}${from && from !== step.actor ? ` (taken over from ${who(from)})` : ''}`;
    }
    case 'note':
      return `Note from ${by}: ${escapeMrkdwn(clip(str(detail.text) ?? '', NOTE_MODAL.maxLength))}`;
    case 'snoozed': {
      const forMs = num(detail.forMs);
      const until = str(detail.until);
      return `Snoozed${forMs ? ` ${shortDuration(forMs)}` : ''} by ${by}${until ? ` (until ${slackDate(until)})` : ''}`;
    }
    case 'snooze_ended':
      return 'Snooze ended: the case is open again';
    case 'sla_breached': {
      const sla = str(detail.sla) === 'resolution' ? 'Resolution' : 'Claim';
      const next = num(detail.escalatedTo);
      const level = num(detail.level);
      return `${sla} SLA breached: ${next ? `escalated to level ${next}` : `no level above${level ? ` ${level}` : ''}; marked as breached`}`;
    }
    case 're_escalated': {
      const level = num(detail.level);
      const channel = str(detail.channel);
      return `Re-escalated to level ${level ?? '?'}${channel ? ` in ${channelRef(channel)}` : ''}`;
    }
    case 'returned': {
      const note = str(detail.note);
      return `Returned to automation by ${by}${note ? `\n> ${escapeMrkdwn(clip(note, NOTE_MODAL.maxLength)).replaceAll('\n', '\n> ')}` : ''}`;
    }
    case 'resolved': {
      const outcome = str(detail.outcome);
      const friction = str(detail.friction);
      const note = str(detail.note);
      return `Resolved by ${by}${outcome ? ` — outcome: ${escapeMrkdwn(outcome)}` : ''}${friction ? `, friction: ${escapeMrkdwn(friction)}` : ''}${note ? `\n> ${escapeMrkdwn(clip(note, NOTE_MODAL.maxLength)).replaceAll('\n', '\n> ')}` : ''}`;
    }
    default:
      return `${escapeMrkdwn(step.step.replaceAll('_', ' '))}${step.actor ? ` by ${by}` : ''}`;
  }
}

/** The view for `views.open` when Add note is clicked. */
export function buildNoteModal(caseId: string, origin?: ModalOrigin): ModalView {
  return {
    type: 'modal',
    callback_id: NOTE_MODAL.callbackId,
    private_metadata: encodeModalMetadata(caseId, origin),
    title: plain('Add a note', 24),
    submit: plain('Save note', 24),
    close: plain('Cancel', 24),
    blocks: [
      { type: 'context', elements: [{ type: 'mrkdwn', text: `Case ${code(pathSafeCaseId(caseId))}` }] },
      {
        type: 'input',
        block_id: NOTE_MODAL.blockId,
        label: plain('Note', 2000),
        element: {
          type: 'plain_text_input',
          action_id: NOTE_MODAL.actionId,
          multiline: true,
          min_length: 1,
          max_length: NOTE_MODAL.maxLength,
          placeholder: plain('What you found or did; it goes to the case log and thread.', 150),
        },
      },
    ],
  };
}

export interface ResolveModalInput {
  caseId: string;
  /** The case's outcomes, and the one picked in the message's menu (chosen already). */
  outcomes: readonly string[];
  chosen?: string;
  /** The policy's frictions: an optional menu. */
  frictions: readonly Friction[];
  origin?: ModalOrigin;
}

/** The view for `views.open` when an outcome is picked in the Resolve menu: outcome, friction (optional), note (optional). */
export function buildResolveModal({ caseId, outcomes, chosen, frictions, origin }: ResolveModalInput): ModalView {
  const options = outcomeOptions(outcomes);
  const initial = options.find((o) => o.value === chosen);
  const frictionOptions: PlainTextOption[] = frictions.slice(0, SLACK_LIMITS.options).map((f) => ({ text: plain(f.label, SLACK_LIMITS.optionText), value: f.id }));
  const { outcome, friction, note } = RESOLVE_MODAL;
  return {
    type: 'modal',
    callback_id: RESOLVE_MODAL.callbackId,
    private_metadata: encodeModalMetadata(caseId, origin),
    title: plain('Resolve the case', 24),
    submit: plain('Resolve', 24),
    close: plain('Cancel', 24),
    blocks: [
      { type: 'context', elements: [{ type: 'mrkdwn', text: `Case ${code(pathSafeCaseId(caseId))}` }] },
      {
        type: 'input',
        block_id: outcome.blockId,
        label: plain('Outcome', 2000),
        element: { type: 'static_select', action_id: outcome.actionId, options, ...(initial ? { initial_option: initial } : {}), placeholder: plain('Outcome…', 150) },
      },
      ...(frictionOptions.length > 0
        ? [
            {
              type: 'input' as const,
              block_id: friction.blockId,
              optional: true,
              label: plain('Friction', 2000),
              hint: plain("What got in the developer's way; the growth team's friction metrics count it.", 2000),
              element: { type: 'static_select' as const, action_id: friction.actionId, options: frictionOptions, placeholder: plain('Friction…', 150) },
            },
          ]
        : []),
      {
        type: 'input',
        block_id: note.blockId,
        optional: true,
        label: plain('Note', 2000),
        element: {
          type: 'plain_text_input',
          action_id: note.actionId,
          multiline: true,
          max_length: NOTE_MODAL.maxLength,
          placeholder: plain('What was done; it goes to the case log and thread.', 150),
        },
      },
    ],
  };
}
