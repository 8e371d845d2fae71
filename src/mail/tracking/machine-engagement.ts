/**
 * Opens and clicks no person made, flagged the way mail senders do, since no request says so:
 *
 * - Privacy proxies fetch images on delivery, not when the reader looks: Apple Mail Privacy
 *   Protection (its proxies send a bare `Mozilla/5.0`), Gmail's GoogleImageProxy, Yahoo's proxy. An
 *   open from one within PROXY_PREFETCH_MS of the send is the proxy, not the reader (later ones
 *   are the reader opening it: Gmail fetches when the message is opened).
 * - Security scanners (Proofpoint, Mimecast, Barracuda, Safe Links …) and HTTP libraries follow
 *   every link and fetch every image, whenever they run.
 * - A click with no open before it, within CLICK_BEFORE_OPEN_MS of the send, is a scanner with a
 *   browser's user agent: no one reads an email and clicks in under a second.
 */
export const PROXY_PREFETCH_MS = 10_000;
export const CLICK_BEFORE_OPEN_MS = 1_000;

const IMAGE_PROXY = /^Mozilla\/5\.0$|GoogleImageProxy|ggpht\.com|YahooMailProxy/i;
const SCANNER =
  /bot\b|crawler|spider|scanner|barracuda|proofpoint|mimecast|messagelabs|symantec|trendmicro|forcepoint|fireeye|sophos|safelinks|urldefense|python-requests|go-http-client|curl\/|wget|java\/|okhttp|headlesschrome/i;

export interface Engagement {
  kind: 'open' | 'click';
  userAgent: string | undefined;
  /** When the request came, and when the email was handed to the mail server (null: being handed over now). */
  at: Date;
  sentAt: Date | null;
  /** For a click: whether a person's open of the same email was recorded already. */
  opened?: boolean;
}

export function isMachineEngagement({ kind, userAgent, at, sentAt, opened }: Engagement): boolean {
  const ua = userAgent?.trim() ?? '';
  if (ua === '' || SCANNER.test(ua)) return true;
  const sinceSend = sentAt === null ? 0 : at.getTime() - sentAt.getTime();
  if (kind === 'open') return IMAGE_PROXY.test(ua) && sinceSend < PROXY_PREFETCH_MS;
  return !opened && sinceSend < CLICK_BEFORE_OPEN_MS;
}
