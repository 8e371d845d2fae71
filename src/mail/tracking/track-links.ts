import { parse, type DefaultTreeAdapterTypes } from 'parse5';
import { clickUrl, openPixelUrl, trackingToken } from './tracking-token.ts';
import type { EmailTracking } from '../../config.ts';

export interface TrackingContext {
  publicUrl: string;
  secret: string;
  developerId: string;
  emailId: string;
  /** Left as they are: the unsubscribe link must stay the List-Unsubscribe header's, and using these is no engagement. */
  untracked: readonly string[];
}

export interface TrackedParts {
  text: string;
  html: string;
  /** The original URLs, a click token's link index into this list: stored with the email, the only redirect targets. */
  links: string[];
}

/** Absolute web links are tracked; mailto:, tel:, in-page anchors are not links to follow. */
const isWebLink = (url: string) => /^https?:\/\//i.test(url);

/** A URL in plain text, without the punctuation that ends its sentence. */
const TEXT_URL = /https?:\/\/[^\s<>"]+?(?=[.,;:!?)\]]*(?:\s|$))/gi;

/**
 * The email as sent when tracking is on: in the HTML each `<a href>` to the web goes through the
 * click redirect and a 1×1 pixel is added before `</body>`; the text part only when it is tracked
 * too. The HTML is parsed with parse5 and edited at the parsed attributes' source offsets, so
 * everything else stays byte for byte as the template rendered it.
 */
export function trackLinks(parts: { text: string; html: string }, tracking: EmailTracking, context: TrackingContext): TrackedParts {
  const links: string[] = [];
  const tracked = (url: string): string => {
    if (context.untracked.includes(url) || !isWebLink(url)) return url;
    let link = links.indexOf(url);
    if (link === -1) link = links.push(url) - 1;
    return clickUrl(context.publicUrl, trackingToken(context.secret, { developerId: context.developerId, emailId: context.emailId, link }));
  };
  const html = tracking.html ? trackHtml(parts.html, tracked, openPixelUrl(context.publicUrl, trackingToken(context.secret, context))) : parts.html;
  const text = tracking.text ? parts.text.replace(TEXT_URL, tracked) : parts.text;
  return { text, html, links };
}

type Node = DefaultTreeAdapterTypes.ChildNode | DefaultTreeAdapterTypes.Document;

function trackHtml(html: string, tracked: (url: string) => string, pixelUrl: string): string {
  const edits: { start: number; end: number; replacement: string }[] = [];
  let bodyEnd: number | undefined;
  const visit = (node: Node) => {
    if ('tagName' in node) {
      const href = node.attrs.find((a) => a.name === 'href');
      const at = node.sourceCodeLocation?.attrs?.href;
      if (node.tagName === 'a' && href && at) {
        const url = tracked(href.value.trim());
        if (url !== href.value) edits.push({ start: at.startOffset, end: at.endOffset, replacement: `href="${escapeAttribute(url)}"` });
      }
      if (node.tagName === 'body') bodyEnd = node.sourceCodeLocation?.endTag?.startOffset;
    }
    if ('childNodes' in node) node.childNodes.forEach(visit);
    if ('content' in node) node.content.childNodes.forEach(visit);
  };
  visit(parse(html, { sourceCodeLocationInfo: true }));
  const pixel = `<img src="${escapeAttribute(pixelUrl)}" width="1" height="1" alt="" style="display:block;width:1px;height:1px;border:0">`;
  edits.push({ start: bodyEnd ?? html.length, end: bodyEnd ?? html.length, replacement: pixel });
  let result = html;
  for (const edit of edits.sort((a, b) => b.start - a.start)) result = result.slice(0, edit.start) + edit.replacement + result.slice(edit.end);
  return result;
}

const escapeAttribute = (value: string) => value.replace(/&/g, '&amp;').replace(/"/g, '&quot;');
