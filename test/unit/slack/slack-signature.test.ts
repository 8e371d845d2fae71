import { describe, expect, it } from 'vitest';
import { slackSignature, verifySlackSignature } from '../../../src/slack/slack-signature.ts';
import { blockAction, signedInteraction } from '../../support/slack-requests.ts';

const secret = '8f742231b10e8888abcd99yyyzzz85a5';
const now = Date.UTC(2026, 10, 2, 12, 0, 0);
const nowSeconds = now / 1000;
const request = (timestamp = nowSeconds) =>
  signedInteraction({ signingSecret: secret, payload: blockAction({ caseId: 'dev-1/h1', actionId: 'onramp.claim', user: 'U0AGENT1' }), timestamp });
const check = (req: ReturnType<typeof request>, overrides: Partial<Parameters<typeof verifySlackSignature>[0]> = {}) =>
  verifySlackSignature({
    signingSecret: secret,
    timestamp: req.headers['x-slack-request-timestamp'],
    signature: req.headers['x-slack-signature'],
    rawBody: req.body,
    now,
    ...overrides,
  });

describe('Slack request signatures (v0)', () => {
  it("matches Slack's documented example", () => {
    // From Slack's "Verifying requests from Slack" guide.
    const body =
      'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
    expect(slackSignature(secret, '1531420618', body)).toBe('v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503');
    expect(
      verifySlackSignature({
        signingSecret: secret,
        timestamp: '1531420618',
        signature: 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503',
        rawBody: Buffer.from(body),
        now: 1531420618_000,
      }),
    ).toEqual({ ok: true });
  });

  it('accepts a request signed with the secret, within five minutes either way', () => {
    expect(check(request())).toEqual({ ok: true });
    expect(check(request(nowSeconds - 299))).toEqual({ ok: true });
    expect(check(request(nowSeconds + 299))).toEqual({ ok: true });
  });

  it('rejects a changed body as forged', () => {
    const req = request();
    expect(check(req, { rawBody: req.body.replace('onramp.claim', 'onramp.resolve') })).toEqual({ ok: false, reason: 'forged' });
    expect(check(req, { rawBody: `${req.body} ` })).toEqual({ ok: false, reason: 'forged' });
  });

  it('rejects a signature made with another secret as forged', () => {
    const other = signedInteraction({ signingSecret: 'not-the-secret', payload: { type: 'block_actions' }, timestamp: nowSeconds });
    expect(check(other)).toEqual({ ok: false, reason: 'forged' });
  });

  it('rejects signatures of another length or scheme without throwing', () => {
    const req = request();
    for (const signature of [
      'v0=abc',
      'v1=' + req.headers['x-slack-signature']!.slice(3),
      req.headers['x-slack-signature']!.toUpperCase(),
      `${req.headers['x-slack-signature']}00`,
      'v0=é' + req.headers['x-slack-signature']!.slice(5),
    ]) {
      expect(check(req, { signature })).toEqual({ ok: false, reason: 'forged' });
    }
  });

  it('rejects a request 6 minutes old, or 6 minutes in the future, as stale', () => {
    expect(check(request(nowSeconds - 6 * 60))).toEqual({ ok: false, reason: 'stale' });
    expect(check(request(nowSeconds + 6 * 60))).toEqual({ ok: false, reason: 'stale' });
  });

  it('reports missing headers', () => {
    const req = request();
    expect(check(req, { timestamp: undefined })).toEqual({ ok: false, reason: 'missing' });
    expect(check(req, { signature: undefined })).toEqual({ ok: false, reason: 'missing' });
    expect(check(req, { signature: '' })).toEqual({ ok: false, reason: 'missing' });
    expect(check(req, { timestamp: null, signature: null })).toEqual({ ok: false, reason: 'missing' });
  });

  it('rejects non-numeric timestamps and repeated headers as forged', () => {
    const req = request();
    for (const timestamp of ['soon', '1.5e9', `${nowSeconds}.5`, '-1', ' 1762084800']) {
      const signed = signedInteraction({ signingSecret: secret, payload: { type: 'block_actions' }, timestamp });
      expect(check(signed)).toEqual({ ok: false, reason: 'forged' });
    }
    expect(check(req, { timestamp: [req.headers['x-slack-request-timestamp']!, req.headers['x-slack-request-timestamp']!] })).toEqual({ ok: false, reason: 'forged' });
  });

  it('refuses to run without a signing secret', () => {
    expect(() => check(request(), { signingSecret: '' })).toThrow(/signing secret/);
  });
});
