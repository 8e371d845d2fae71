import { describe, expect, it } from 'vitest';
import { ACTION_IDS, actionsBlockId, decodeModalMetadata, encodeModalMetadata, parseInteraction } from '../../../src/slack/slack-interaction.ts';
import { buildResolveModal } from '../../../src/slack/case-message.ts';
import { blockAction, noteSubmission, resolveSubmission } from '../../support/slack-requests.ts';

const caseId = 'dev_7f3a/h2';
const user = { id: 'U0AGENT1', username: 'amy', name: 'Amy McGee' };
const parse = (payload: unknown) => parseInteraction(JSON.stringify(payload));
const where = { channel: 'C0HELP', messageTs: '1732400000.000100' };

describe('Slack interaction payloads', () => {
  it('claim, return: the case id from the button value, the actor, and where the click came from', () => {
    for (const action of ['claim', 'return'] as const) {
      const payload = blockAction({ caseId, actionId: ACTION_IDS[action], user, ...where, responseUrl: 'https://hooks.slack.com/actions/T0/1/x' });
      expect(parse(payload)).toEqual({
        kind: 'action',
        caseId,
        action,
        actor: { slackUserId: 'U0AGENT1', name: 'amy' },
        channel: 'C0HELP',
        messageTs: '1732400000.000100',
        responseUrl: 'https://hooks.slack.com/actions/T0/1/x',
      });
    }
  });

  it('take over: a claim that says so', () => {
    expect(parse(blockAction({ caseId, actionId: ACTION_IDS.takeOver, user, ...where }))).toMatchObject({
      kind: 'action',
      caseId,
      action: 'claim',
      takeOver: true,
      actor: { slackUserId: 'U0AGENT1', name: 'amy' },
      ...where,
    });
    expect(parse(blockAction({ caseId, actionId: ACTION_IDS.claim, user }))).not.toHaveProperty('takeOver');
  });

  it('snooze: the option chosen, the case id from the actions block', () => {
    expect(parse(blockAction({ caseId, actionId: ACTION_IDS.snooze, user, selected: '1h' }))).toMatchObject({ kind: 'action', caseId, action: 'snooze', snoozeFor: '1h' });
    expect(parse(blockAction({ caseId, actionId: ACTION_IDS.snooze, user, selected: '1d' }))).toMatchObject({ snoozeFor: '1d' });
  });

  it('resolve: the outcome picked in the menu asks for the resolve modal, with the trigger id', () => {
    expect(parse(blockAction({ caseId, actionId: ACTION_IDS.resolve, user: 'U0AGENT2', selected: 'unblocked', triggerId: '1.2.t', ...where }))).toMatchObject({
      kind: 'open_resolve',
      caseId,
      outcome: 'unblocked',
      triggerId: '1.2.t',
      actor: { slackUserId: 'U0AGENT2' },
      ...where,
    });
  });

  it('resolve submitted in the modal: the outcome, the friction and the note, the case and where it was opened from', () => {
    const modal = buildResolveModal({
      caseId,
      outcomes: ['unblocked', 'bug-filed'],
      chosen: 'unblocked',
      frictions: [{ id: 'missing_docs', label: 'Missing docs' }],
      origin: where,
    });
    expect(parse(resolveSubmission({ modal, user, outcome: 'bug-filed', friction: 'missing_docs', note: '  Filed SDK-12. ' }))).toEqual({
      kind: 'action',
      caseId,
      action: 'resolve',
      actor: { slackUserId: 'U0AGENT1', name: 'amy' },
      outcome: 'bug-filed',
      friction: 'missing_docs',
      note: 'Filed SDK-12.',
      ...where,
    });
    // Friction and note are optional; the outcome is not.
    expect(parse(resolveSubmission({ modal, user, outcome: 'unblocked' }))).toEqual({
      kind: 'action',
      caseId,
      action: 'resolve',
      actor: expect.anything(),
      outcome: 'unblocked',
      ...where,
    });
    const none = parse(resolveSubmission({ modal, user }));
    expect(none).toMatchObject({ kind: 'error', path: 'view.state.values.outcome.outcome.selected_option', viewErrors: { outcome: 'Pick an outcome.' } });
  });

  it('Add note asks for the modal, with the trigger id', () => {
    const payload = blockAction({ caseId, actionId: ACTION_IDS.note, user, triggerId: '1234.5678.abcd', ...where });
    expect(parse(payload)).toMatchObject({ kind: 'open_note', caseId, triggerId: '1234.5678.abcd', actor: { slackUserId: 'U0AGENT1' }, ...where });
  });

  it('a note submitted in the modal: trimmed text, the case and the message it was opened from', () => {
    expect(parse(noteSubmission({ caseId, user, text: '  Called them: wrong key mode.  \n', ...where }))).toEqual({
      kind: 'action',
      caseId,
      action: 'note',
      actor: { slackUserId: 'U0AGENT1', name: 'amy' },
      note: 'Called them: wrong key mode.',
      ...where,
    });
  });

  it('an empty or too long note is an error the modal can show', () => {
    const empty = parse(noteSubmission({ caseId, user, text: '   ' }));
    expect(empty).toMatchObject({ kind: 'error', path: 'view.state.values.note.text.value' });
    expect(empty.kind === 'error' && empty.viewErrors?.note).toBeTruthy();
    const long = parse(noteSubmission({ caseId, user, text: 'x'.repeat(2001) }));
    expect(long.kind === 'error' && long.viewErrors?.note).toContain('2000');
  });

  it('ignores what is not for us: unknown actions, the journey link, other views and payload types', () => {
    expect(parse(blockAction({ caseId, actionId: 'someone.else', user }))).toEqual({ kind: 'ignored', reason: 'action someone.else' });
    expect(parse(blockAction({ caseId, actionId: ACTION_IDS.openJourney, user, blockId: 'x' }))).toMatchObject({ kind: 'ignored' });
    const otherView = noteSubmission({ caseId, user, text: 'hi' });
    (otherView.view as Record<string, unknown>).callback_id = 'another.modal';
    expect(parse(otherView)).toEqual({ kind: 'ignored', reason: 'view another.modal' });
    expect(parse({ type: 'view_closed', user, view: {} })).toMatchObject({ kind: 'ignored' });
    expect(parse({ type: 'shortcut', user, callback_id: 'x' })).toMatchObject({ kind: 'ignored' });
  });

  it('malformed payloads are errors naming the field', () => {
    expect(parseInteraction('{not json')).toMatchObject({ kind: 'error', path: 'payload' });
    expect(parse({ user })).toMatchObject({ kind: 'error', path: 'type' });
    const noUser = blockAction({ caseId, actionId: ACTION_IDS.claim, user });
    delete (noUser.user as Record<string, unknown>).id;
    expect(parse(noUser)).toMatchObject({ kind: 'error', path: 'user.id' });
    expect(parse({ ...blockAction({ caseId, actionId: ACTION_IDS.claim, user }), actions: [] })).toMatchObject({ kind: 'error', path: 'actions' });
    expect(parse({ ...blockAction({ caseId, actionId: ACTION_IDS.claim, user }), actions: [{ type: 'button', value: caseId }] })).toMatchObject({
      kind: 'error',
      path: 'actions.0.action_id',
    });
    expect(parse(blockAction({ caseId, actionId: ACTION_IDS.snooze, user, selected: '1w' }))).toMatchObject({ kind: 'error', path: 'actions.0.selected_option.value' });
    expect(parse(blockAction({ caseId, actionId: ACTION_IDS.resolve, user, selected: 'unblocked', blockId: 'random' }))).toMatchObject({
      kind: 'error',
      path: 'actions.0.block_id',
    });
    expect(parse(blockAction({ caseId, actionId: ACTION_IDS.claim, user, value: '', blockId: 'random' }))).toMatchObject({ kind: 'error', path: 'actions.0.value' });
    const noTrigger = blockAction({ caseId, actionId: ACTION_IDS.note, user });
    delete noTrigger.trigger_id;
    expect(parse(noTrigger)).toMatchObject({ kind: 'error', path: 'trigger_id' });
    const badView = noteSubmission({ caseId, user, text: 'hi' });
    (badView.view as Record<string, unknown>).private_metadata = '';
    expect(parse(badView)).toMatchObject({ kind: 'error', path: 'view.private_metadata' });
    const noState = noteSubmission({ caseId, user, text: 'hi' });
    delete (noState.view as Record<string, unknown>).state;
    expect(parse(noState)).toMatchObject({ kind: 'error', path: 'view.state' });
  });

  it('a button without a value falls back to the actions block id; names fall back to user.name', () => {
    const payload = blockAction({ caseId, actionId: ACTION_IDS.claim, user: { id: 'U0AGENT3', name: 'Bo' } });
    const action = (payload.actions as Record<string, unknown>[])[0]!;
    delete action.value;
    delete (payload.user as Record<string, unknown>).username;
    expect(parse(payload)).toMatchObject({ kind: 'action', caseId, actor: { slackUserId: 'U0AGENT3', name: 'Bo' } });
    expect(action.block_id).toBe(actionsBlockId(caseId));
  });

  it('note metadata round-trips, and a bare case id is read too', () => {
    expect(decodeModalMetadata(encodeModalMetadata(caseId, where))).toEqual({ caseId, ...where });
    expect(decodeModalMetadata(caseId)).toEqual({ caseId });
    expect(decodeModalMetadata('{"caseId":')).toBeUndefined();
    expect(decodeModalMetadata('{"other":1}')).toBeUndefined();
  });
});
