import { z } from 'zod';

/**
 * Slack interaction payloads (the `payload` form field of `POST /slack/interactions`), reduced to
 * what an agent asked for. Validated at the edge: a payload we cannot read is an error naming the
 * field; a payload that is not for us (another app surface, the journey link button) is ignored.
 *
 * Where the case id travels: each button's `value`; the actions block's `block_id`
 * (`onramp.case:<caseId>`), since a static_select's option values carry the choice (`1h`, an
 * outcome); the note and resolve modals' `private_metadata`.
 */

/** Action ids of the elements in a case message. */
export const ACTION_IDS = {
  claim: 'onramp.claim',
  /** A claim of a case someone else owns (shown where a claimed case is). */
  takeOver: 'onramp.take_over',
  /** A button: opens the note modal. */
  note: 'onramp.note',
  /** A static_select with options `1h`, `1d`. */
  snooze: 'onramp.snooze',
  return: 'onramp.return',
  /** A static_select whose option values are the case's outcomes: opens the resolve modal with it chosen. */
  resolve: 'onramp.resolve',
  /** The link button to the journey: Slack still sends block_actions for it; ignored. */
  openJourney: 'onramp.open_journey',
} as const;

export type CaseAction = 'claim' | 'note' | 'snooze' | 'return' | 'resolve';

/** Snooze choices and their length. */
export const SNOOZE_CHOICES = { '1h': 3_600_000, '1d': 86_400_000 } as const;
export type SnoozeChoice = keyof typeof SNOOZE_CHOICES;

/** The note modal (views.open) and its single input. */
export const NOTE_MODAL = { callbackId: 'onramp.note', blockId: 'note', actionId: 'text', maxLength: 2000 } as const;

/** The resolve modal: the outcome (required), the friction (optional) and a note (optional); each input's block and action id. */
export const RESOLVE_MODAL = {
  callbackId: 'onramp.resolve',
  outcome: { blockId: 'outcome', actionId: 'outcome' },
  friction: { blockId: 'friction', actionId: 'friction' },
  note: { blockId: 'note', actionId: 'text' },
} as const;

const ACTIONS_BLOCK_PREFIX = 'onramp.case:';

/** The `block_id` of a case message's actions block: carries the case id for the selects. */
export function actionsBlockId(caseId: string): string {
  return `${ACTIONS_BLOCK_PREFIX}${caseId}`;
}

/** Where the button or menu that opened a modal was, so that the submission can answer there. */
export interface ModalOrigin {
  channel?: string;
  messageTs?: string;
}

const modalMetadata = z.strictObject({ caseId: z.string().min(1).max(255), channel: z.string().min(1).optional(), messageTs: z.string().min(1).optional() });
export type ModalMetadata = z.infer<typeof modalMetadata>;

/** A modal's `private_metadata` (≤ 3000 characters in Slack). */
export function encodeModalMetadata(caseId: string, origin: ModalOrigin = {}): string {
  return JSON.stringify(modalMetadata.parse({ caseId, ...origin }));
}

/** Reads `private_metadata`: our JSON, or a bare case id. */
export function decodeModalMetadata(privateMetadata: string): ModalMetadata | undefined {
  const text = privateMetadata.trim();
  if (!text) return undefined;
  if (!text.startsWith('{')) return text.length <= 255 ? { caseId: text } : undefined;
  try {
    const parsed = modalMetadata.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

// --- Payload schemas: only the fields we read; everything else passes through untouched. ---

const slackUser = z.looseObject({
  id: z.string().min(1),
  username: z.string().optional(),
  name: z.string().optional(),
  team_id: z.string().optional(),
});

const blockAction = z.looseObject({
  action_id: z.string().min(1),
  block_id: z.string().optional(),
  type: z.string(),
  value: z.string().optional(),
  selected_option: z.looseObject({ value: z.string() }).nullish(),
  action_ts: z.string().optional(),
});

export const blockActionsPayload = z.looseObject({
  type: z.literal('block_actions'),
  user: slackUser,
  trigger_id: z.string().optional(),
  response_url: z.string().optional(),
  channel: z.looseObject({ id: z.string().min(1) }).nullish(),
  container: z.looseObject({ type: z.string(), message_ts: z.string().optional(), channel_id: z.string().optional() }).nullish(),
  message: z.looseObject({ ts: z.string() }).nullish(),
  actions: z.array(blockAction).min(1),
});
export type BlockActionsPayload = z.infer<typeof blockActionsPayload>;

const inputValue = z.looseObject({ type: z.string(), value: z.string().nullish(), selected_option: z.looseObject({ value: z.string() }).nullish() });

export const viewSubmissionPayload = z.looseObject({
  type: z.literal('view_submission'),
  user: slackUser,
  trigger_id: z.string().optional(),
  view: z.looseObject({
    id: z.string().optional(),
    callback_id: z.string(),
    private_metadata: z.string(),
    state: z.looseObject({ values: z.record(z.string(), z.record(z.string(), inputValue)) }),
  }),
});
export type ViewSubmissionPayload = z.infer<typeof viewSubmissionPayload>;

const envelope = z.looseObject({ type: z.string().min(1) });

// --- Results ---

export interface InteractionActor {
  slackUserId: string;
  /** `user.username`, else `user.name`. */
  name?: string;
}

export interface ActionInteraction {
  kind: 'action';
  caseId: string;
  action: CaseAction;
  actor: InteractionActor;
  /** `claim` from the Take over button. */
  takeOver?: true;
  /** `note`: the text (trimmed, ≤ 2000 characters). */
  note?: string;
  /** `snooze`: how long (see SNOOZE_CHOICES). */
  snoozeFor?: SnoozeChoice;
  /** `resolve`: the outcome chosen (check it against the policy's outcomes). */
  outcome?: string;
  /** `resolve`: the friction chosen in the modal, if any (check it against the policy's frictions). */
  friction?: string;
  /** The channel id and message the click came from (for a note: the message the modal was opened from). */
  channel?: string;
  messageTs?: string;
  /** block_actions only: where an ephemeral answer may be posted (30 min, 5 uses). */
  responseUrl?: string;
}

/** Add note was clicked: open the modal with this trigger (valid for 3 s). */
export interface OpenNoteInteraction {
  kind: 'open_note';
  caseId: string;
  triggerId: string;
  actor: InteractionActor;
  channel?: string;
  messageTs?: string;
  responseUrl?: string;
}

/** An outcome was picked in the Resolve menu: open the resolve modal with it chosen (the trigger is valid for 3 s). */
export interface OpenResolveInteraction {
  kind: 'open_resolve';
  caseId: string;
  outcome: string;
  triggerId?: string;
  actor: InteractionActor;
  channel?: string;
  messageTs?: string;
  responseUrl?: string;
}

export interface IgnoredInteraction {
  kind: 'ignored';
  reason: string;
}

export interface InteractionError {
  kind: 'error';
  /** The offending field, e.g. `actions.0.selected_option.value` (`payload` when not JSON). */
  path: string;
  message: string;
  /** For a modal input: answer the view_submission with `{ response_action: 'errors', errors: viewErrors }`. */
  viewErrors?: Record<string, string>;
}

export type ParsedInteraction = ActionInteraction | OpenNoteInteraction | OpenResolveInteraction | IgnoredInteraction | InteractionError;

const actionById = new Map<string, CaseAction>(
  Object.entries(ACTION_IDS).flatMap(([action, id]) => (action === 'openJourney' ? [] : [[id, action === 'takeOver' ? 'claim' : (action as CaseAction)]])),
);

function fail(path: string, message: string, viewErrors?: Record<string, string>): InteractionError {
  return { kind: 'error', path, message, ...(viewErrors ? { viewErrors } : {}) };
}

function fromZod(error: z.ZodError): InteractionError {
  const issue = error.issues[0]!;
  return fail(issue.path.map(String).join('.') || '(root)', issue.message);
}

function actorOf(user: z.infer<typeof slackUser>): InteractionActor {
  const name = user.username || user.name;
  return { slackUserId: user.id, ...(name ? { name } : {}) };
}

/** Parses the `payload` form field Slack posts to the interactivity URL. */
export function parseInteraction(payloadJson: string): ParsedInteraction {
  let raw: unknown;
  try {
    raw = JSON.parse(payloadJson);
  } catch {
    return fail('payload', 'is not JSON');
  }
  const head = envelope.safeParse(raw);
  if (!head.success) return fromZod(head.error);
  switch (head.data.type) {
    case 'block_actions': {
      const parsed = blockActionsPayload.safeParse(raw);
      return parsed.success ? fromBlockActions(parsed.data) : fromZod(parsed.error);
    }
    case 'view_submission': {
      const parsed = viewSubmissionPayload.safeParse(raw);
      return parsed.success ? fromViewSubmission(parsed.data) : fromZod(parsed.error);
    }
    default:
      return { kind: 'ignored', reason: `payload type ${head.data.type}` };
  }
}

function fromBlockActions(payload: BlockActionsPayload): ParsedInteraction {
  const element = payload.actions[0]!;
  const action = actionById.get(element.action_id);
  if (!action) return { kind: 'ignored', reason: `action ${element.action_id}` };

  const fromBlock = element.block_id?.startsWith(ACTIONS_BLOCK_PREFIX) ? element.block_id.slice(ACTIONS_BLOCK_PREFIX.length) : undefined;
  const isSelect = action === 'snooze' || action === 'resolve';
  const caseId = (isSelect ? fromBlock : element.value || fromBlock) ?? '';
  if (!caseId) return isSelect ? fail('actions.0.block_id', `must be ${ACTIONS_BLOCK_PREFIX}<case id>`) : fail('actions.0.value', 'must carry the case id');
  if (caseId.length > 255) return fail(isSelect ? 'actions.0.block_id' : 'actions.0.value', 'case id is too long');

  const actor = actorOf(payload.user);
  const channel = payload.channel?.id ?? payload.container?.channel_id;
  const messageTs = payload.container?.message_ts ?? payload.message?.ts;
  const where = { ...(channel ? { channel } : {}), ...(messageTs ? { messageTs } : {}), ...(payload.response_url ? { responseUrl: payload.response_url } : {}) };

  switch (action) {
    case 'note':
      if (!payload.trigger_id) return fail('trigger_id', 'is required to open the note modal');
      return { kind: 'open_note', caseId, triggerId: payload.trigger_id, actor, ...where };
    case 'snooze': {
      const choice = element.selected_option?.value;
      if (choice !== '1h' && choice !== '1d') return fail('actions.0.selected_option.value', `must be one of: ${Object.keys(SNOOZE_CHOICES).join(', ')}`);
      return { kind: 'action', caseId, action, actor, snoozeFor: choice, ...where };
    }
    case 'resolve': {
      const outcome = element.selected_option?.value;
      if (!outcome) return fail('actions.0.selected_option.value', 'must name an outcome');
      return { kind: 'open_resolve', caseId, outcome, actor, ...(payload.trigger_id ? { triggerId: payload.trigger_id } : {}), ...where };
    }
    default:
      return { kind: 'action', caseId, action, actor, ...(element.action_id === ACTION_IDS.takeOver ? { takeOver: true as const } : {}), ...where };
  }
}

function fromViewSubmission(payload: ViewSubmissionPayload): ParsedInteraction {
  const { view } = payload;
  if (view.callback_id !== NOTE_MODAL.callbackId && view.callback_id !== RESOLVE_MODAL.callbackId) return { kind: 'ignored', reason: `view ${view.callback_id}` };
  const metadata = decodeModalMetadata(view.private_metadata);
  if (!metadata) return fail('view.private_metadata', 'must carry the case id');
  const from = {
    caseId: metadata.caseId,
    actor: actorOf(payload.user),
    ...(metadata.channel ? { channel: metadata.channel } : {}),
    ...(metadata.messageTs ? { messageTs: metadata.messageTs } : {}),
  };
  const values = view.state.values;
  if (view.callback_id === RESOLVE_MODAL.callbackId) {
    const { outcome: o, friction: f, note: n } = RESOLVE_MODAL;
    const outcome = values[o.blockId]?.[o.actionId]?.selected_option?.value;
    if (!outcome) return fail(`view.state.values.${o.blockId}.${o.actionId}.selected_option`, 'must name an outcome', { [o.blockId]: 'Pick an outcome.' });
    const friction = values[f.blockId]?.[f.actionId]?.selected_option?.value;
    const note = values[n.blockId]?.[n.actionId]?.value?.trim();
    if (note && note.length > NOTE_MODAL.maxLength)
      return fail(`view.state.values.${n.blockId}.${n.actionId}.value`, `at most ${NOTE_MODAL.maxLength} characters`, {
        [n.blockId]: `At most ${NOTE_MODAL.maxLength} characters, please.`,
      });
    return { kind: 'action', action: 'resolve', outcome, ...(friction ? { friction } : {}), ...(note ? { note } : {}), ...from };
  }
  const { blockId, actionId, maxLength } = NOTE_MODAL;
  const path = `view.state.values.${blockId}.${actionId}.value`;
  const text = values[blockId]?.[actionId]?.value?.trim() ?? '';
  if (!text) return fail(path, 'a note needs text', { [blockId]: 'Write a note first.' });
  if (text.length > maxLength) return fail(path, `at most ${maxLength} characters`, { [blockId]: `At most ${maxLength} characters, please.` });
  return { kind: 'action', action: 'note', note: text, ...from };
}
