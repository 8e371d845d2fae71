import { describe, expect, it } from 'vitest';
import { redactUrl } from '../../src/logger.ts';
import { CLICK_BEFORE_OPEN_MS, isMachineEngagement, PROXY_PREFETCH_MS } from '../../src/mail/tracking/machine-engagement.ts';
import { trackLinks } from '../../src/mail/tracking/track-links.ts';
import { readTrackingToken, trackingToken } from '../../src/mail/tracking/tracking-token.ts';

const secret = 's'.repeat(32);
const context = {
  publicUrl: 'https://onramp.example',
  secret,
  developerId: 'dev_1',
  emailId: 'dev_1/first-call-help#1',
  untracked: ['https://onramp.example/v1/unsubscribe?developer=dev_1&token=t'],
};
const html = `<!doctype html>
<html><body>
<p>Read <a class="x" href="https://docs.example.com/a?b=1&amp;c=2">the guide</a>, <a href="https://docs.example.com/a?b=1&amp;c=2">again</a>,
<a href="mailto:help@example.com">mail us</a>, <a href="#top">top</a> or <A HREF='https://docs.example.com/b'>b</A>.</p>
<p><a href="https://onramp.example/v1/unsubscribe?developer&#x3D;dev_1&amp;token&#x3D;t">Unsubscribe</a></p>
</body></html>`;

describe('trackLinks', () => {
  it('sends each web link but the unsubscribe link through a click token, adds the pixel, and changes nothing else', () => {
    const tracked = trackLinks({ text: 'Read https://docs.example.com/b.', html }, { html: true, text: false }, context);
    expect(tracked.links).toEqual(['https://docs.example.com/a?b=1&c=2', 'https://docs.example.com/b']);
    const tokens = [...tracked.html.matchAll(/https:\/\/onramp\.example\/v1\/t\/([oc])\/([\w.-]+)/g)].map((m) => [m[1], readTrackingToken(secret, m[2]!)]);
    expect(tokens).toEqual([
      ['c', { developerId: 'dev_1', emailId: context.emailId, link: 0 }],
      ['c', { developerId: 'dev_1', emailId: context.emailId, link: 0 }],
      ['c', { developerId: 'dev_1', emailId: context.emailId, link: 1 }],
      ['o', { developerId: 'dev_1', emailId: context.emailId }],
    ]);
    // Undo the edits: the rest is the rendered HTML byte for byte.
    const undone = tracked.html
      .replace(/<img [^>]+>(?=<\/body>)/, '')
      .replace(/href="https:\/\/onramp\.example\/v1\/t\/c\/[\w.-]+"/g, (_, offset: number) =>
        offset < tracked.html.indexOf('<A') ? 'href="https://docs.example.com/a?b=1&amp;c=2"' : "HREF='https://docs.example.com/b'",
      );
    expect(undone).toBe(html);
    expect(tracked.text).toBe('Read https://docs.example.com/b.');
  });

  it('tracks the text part only when asked, keeping the sentence and the unsubscribe URL', () => {
    const tracked = trackLinks({ text: `Read https://docs.example.com/b.\nUnsubscribe: ${context.untracked[0]!}`, html: '' }, { html: false, text: true }, context);
    expect(tracked.text).toMatch(new RegExp(`^Read https://onramp\\.example/v1/t/c/[\\w-]+\\.[\\w-]+\\.\\nUnsubscribe: ${context.untracked[0]!.replace(/[?.]/g, '\\$&')}$`));
    expect(tracked.html).toBe('');
    expect(tracked.links).toEqual(['https://docs.example.com/b']);
  });

  it('leaves both parts as rendered when off', () => {
    expect(trackLinks({ text: 'https://docs.example.com/b', html }, { html: false, text: false }, context)).toEqual({ text: 'https://docs.example.com/b', html, links: [] });
  });
});

describe('tracking tokens', () => {
  it('refuses another secret, an altered payload and a malformed token', () => {
    const token = trackingToken(secret, { developerId: 'dev_1', emailId: 'e', link: 2 });
    expect(readTrackingToken('t'.repeat(32), token)).toBeNull();
    const [, signature] = token.split('.');
    expect(readTrackingToken(secret, `${Buffer.from(JSON.stringify(['dev_1', 'e', 3])).toString('base64url')}.${signature}`)).toBeNull();
    for (const bad of ['', '.', 'abc', `${token}.x`]) expect(readTrackingToken(secret, bad)).toBeNull();
  });
});

describe('machine opens and clicks', () => {
  const sentAt = new Date('2026-12-06T10:00:00Z');
  const after = (ms: number) => new Date(sentAt.getTime() + ms);
  const browser = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)';

  it('flags a proxy open within the prefetch window, not after it, and never a mail client', () => {
    expect(isMachineEngagement({ kind: 'open', userAgent: 'Mozilla/5.0', at: after(2_000), sentAt })).toBe(true);
    expect(
      isMachineEngagement({
        kind: 'open',
        userAgent: 'Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)',
        at: after(PROXY_PREFETCH_MS - 1),
        sentAt,
      }),
    ).toBe(true);
    expect(isMachineEngagement({ kind: 'open', userAgent: 'Mozilla/5.0', at: after(PROXY_PREFETCH_MS), sentAt })).toBe(false);
    expect(isMachineEngagement({ kind: 'open', userAgent: browser, at: after(1_000), sentAt })).toBe(false);
  });

  it('flags a click before any open within a second, and scanners always', () => {
    expect(isMachineEngagement({ kind: 'click', userAgent: browser, at: after(CLICK_BEFORE_OPEN_MS - 1), sentAt, opened: false })).toBe(true);
    expect(isMachineEngagement({ kind: 'click', userAgent: browser, at: after(500), sentAt, opened: true })).toBe(false);
    expect(isMachineEngagement({ kind: 'click', userAgent: browser, at: after(CLICK_BEFORE_OPEN_MS), sentAt, opened: false })).toBe(false);
    expect(isMachineEngagement({ kind: 'click', userAgent: 'Proofpoint URL Defense', at: after(3_600_000), sentAt, opened: true })).toBe(true);
    expect(isMachineEngagement({ kind: 'open', userAgent: undefined, at: after(3_600_000), sentAt })).toBe(true);
  });
});

it('keeps tracking tokens (they name a developer) out of request logs', () => {
  expect(redactUrl('/v1/t/c/eyJkZXYifQ.abc')).toBe('/v1/t/c/[redacted]');
  expect(redactUrl('/v1/t/o/eyJkZXYifQ.abc?x=1')).toBe('/v1/t/o/[redacted]?x=1');
});
