import { createHmac } from 'node:crypto';
import type { ModalView } from '@slack/web-api';
import { buildNoteModal } from '../../src/slack/case-message.ts';
import { ACTION_IDS, actionsBlockId, NOTE_MODAL, RESOLVE_MODAL } from '../../src/slack/slack-interaction.ts';

/**
 * Interaction requests as Slack sends them to `POST /slack/interactions`: a form-encoded body
 * `payload=<JSON>`, signed with the app's signing secret (computed here independently of
 * src/slack/slack-signature.ts), and payloads shaped like Slack's block_actions and
 * view_submission payloads.
 */

export interface SignedRequest {
  headers: Record<string, string>;
  body: string;
}

export type SlackUserRef = string | { id: string; username?: string; name?: string };

const TEAM = { id: 'T0ONRAMP', domain: 'onramp-test' };
const APP_ID = 'A0ONRAMP';
const BOT = { user: 'U0ONRAMPBOT', bot_id: 'B0ONRAMP' };
/** The legacy verification token Slack still sends in payloads (we rely on the signature). */
const VERIFICATION_TOKEN = 'legacy-verification-token';

let sequence = 0;
const nowTs = () => {
  sequence++;
  return `${Math.floor(Date.now() / 1000)}.${String(sequence % 1e6).padStart(6, '0')}`;
};

function slackUser(user: SlackUserRef) {
  const u = typeof user === 'string' ? { id: user } : user;
  const username = u.username ?? u.name ?? `agent.${u.id.toLowerCase()}`;
  return { id: u.id, username, name: u.name ?? username, team_id: TEAM.id };
}

/** Headers and body of a signed interaction request; `timestamp` in Unix seconds (default now). */
export function signedInteraction({ signingSecret, payload, timestamp }: { signingSecret: string; payload: unknown; timestamp?: number | string }): SignedRequest {
  const ts = String(timestamp ?? Math.floor(Date.now() / 1000));
  const body = new URLSearchParams({ payload: typeof payload === 'string' ? payload : JSON.stringify(payload) }).toString();
  const signature = `v0=${createHmac('sha256', signingSecret).update(`v0:${ts}:${body}`).digest('hex')}`;
  return {
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'user-agent': 'Slackbot 1.0 (+https://api.slack.com/robots)',
      'x-slack-request-timestamp': ts,
      'x-slack-signature': signature,
    },
    body,
  };
}

export interface BlockActionInput {
  caseId: string;
  /** One of ACTION_IDS (or any id, to test the unknown ones). */
  actionId: string;
  user: SlackUserRef;
  /** A button's value; defaults to the case id. */
  value?: string;
  /** A static_select's chosen option value (`1h`, an outcome); makes the element a static_select. */
  selected?: string;
  /** Defaults to the case message's actions block id. */
  blockId?: string;
  channel?: string;
  messageTs?: string;
  responseUrl?: string;
  triggerId?: string;
}

const SELECTS = new Set<string>([ACTION_IDS.snooze, ACTION_IDS.resolve]);

/** A block_actions payload for a click on a case message. */
export function blockAction(input: BlockActionInput): Record<string, unknown> {
  const channel = input.channel ?? 'C0FAKE0001';
  const messageTs = input.messageTs ?? '1732400000.000100';
  const actionTs = nowTs();
  const isSelect = input.selected !== undefined || SELECTS.has(input.actionId);
  const element = isSelect
    ? {
        type: 'static_select',
        action_id: input.actionId,
        block_id: input.blockId ?? actionsBlockId(input.caseId),
        selected_option: { text: { type: 'plain_text', text: input.selected ?? '', emoji: true }, value: input.selected ?? '' },
        placeholder: { type: 'plain_text', text: 'Choose…', emoji: true },
        action_ts: actionTs,
      }
    : {
        type: 'button',
        action_id: input.actionId,
        block_id: input.blockId ?? actionsBlockId(input.caseId),
        text: { type: 'plain_text', text: input.actionId, emoji: true },
        value: input.value ?? input.caseId,
        action_ts: actionTs,
      };
  return {
    type: 'block_actions',
    user: slackUser(input.user),
    api_app_id: APP_ID,
    token: VERIFICATION_TOKEN,
    container: { type: 'message', message_ts: messageTs, channel_id: channel, is_ephemeral: false },
    trigger_id: input.triggerId ?? `${Date.now()}.${sequence}.fake-trigger`,
    team: TEAM,
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: channel, name: 'onboarding-help' },
    message: { type: 'message', subtype: 'bot_message', text: 'Onramp handoff', ts: messageTs, bot_id: BOT.bot_id, user: BOT.user, team: TEAM.id },
    state: { values: {} },
    response_url: input.responseUrl ?? `https://hooks.slack.com/actions/${TEAM.id}/1234567890/fake-response-token`,
    actions: [element],
  };
}

export interface NoteSubmissionInput {
  caseId: string;
  user: SlackUserRef;
  text: string;
  /** Where Add note was clicked (carried in the modal's private_metadata). */
  channel?: string;
  messageTs?: string;
}

/** A view_submission payload for the note modal, built from the modal we open. */
export function noteSubmission(input: NoteSubmissionInput): Record<string, unknown> {
  const modal = buildNoteModal(input.caseId, { ...(input.channel ? { channel: input.channel } : {}), ...(input.messageTs ? { messageTs: input.messageTs } : {}) });
  return viewSubmission(input.user, modal, { [NOTE_MODAL.blockId]: { [NOTE_MODAL.actionId]: { type: 'plain_text_input', value: input.text } } });
}

export interface ResolveSubmissionInput {
  /** The modal Onramp opened (views.open), as Slack sends it back. */
  modal: ModalView;
  user: SlackUserRef;
  outcome?: string;
  friction?: string;
  note?: string;
}

/** A view_submission payload for the resolve modal: the options picked in its selects, the note typed. */
export function resolveSubmission({ modal, user, outcome, friction, note }: ResolveSubmissionInput): Record<string, unknown> {
  const { outcome: o, friction: f, note: n } = RESOLVE_MODAL;
  const picked = (value: string | undefined) => ({
    type: 'static_select',
    selected_option: value === undefined ? null : { text: { type: 'plain_text', text: value, emoji: true }, value },
  });
  return viewSubmission(user, modal, {
    [o.blockId]: { [o.actionId]: picked(outcome) },
    [f.blockId]: { [f.actionId]: picked(friction) },
    [n.blockId]: { [n.actionId]: { type: 'plain_text_input', value: note ?? null } },
  });
}

function viewSubmission(user: SlackUserRef, modal: ModalView, values: Record<string, Record<string, unknown>>): Record<string, unknown> {
  const viewId = `V0FAKE${String(++sequence).padStart(4, '0')}`;
  return {
    type: 'view_submission',
    team: TEAM,
    user: slackUser(user),
    api_app_id: APP_ID,
    token: VERIFICATION_TOKEN,
    trigger_id: `${Date.now()}.${sequence}.fake-trigger`,
    view: {
      id: viewId,
      team_id: TEAM.id,
      type: 'modal',
      blocks: modal.blocks,
      private_metadata: modal.private_metadata,
      callback_id: modal.callback_id,
      state: { values },
      hash: `${Math.floor(Date.now() / 1000)}.fakehash`,
      title: modal.title,
      clear_on_close: false,
      notify_on_close: false,
      close: modal.close,
      submit: modal.submit,
      previous_view_id: null,
      root_view_id: viewId,
      app_id: APP_ID,
      external_id: '',
      app_installed_team_id: TEAM.id,
      bot_id: BOT.bot_id,
    },
    response_urls: [],
    is_enterprise_install: false,
    enterprise: null,
  };
}
