import Handlebars from 'handlebars';
import type { Brand, LayoutStrings } from './email-settings.ts';

/**
 * The brand's layout around every template's content: MJML (https://mjml.io) compiled to the
 * table-based, responsive HTML the major clients render (Outlook's Word engine included), once per
 * brand, locale and with/without a call to action and the feedback question; then filled per message by Handlebars. The text
 * part gets the same footer in plain text.
 */

export interface LayoutSlots {
  subject: string;
  /** The template's rendered HTML content (already escaped by its own rendering). */
  body: string;
  /** The text shown after the subject in the inbox list. */
  preheader: string;
  cta: { label: string; url: string } | null;
  product: string;
  postalAddress: string | null;
  strings: LayoutStrings;
  unsubscribeUrl: string;
  preferencesUrl: string;
  /** The "was this helpful?" links (absent: the question is left out). */
  feedback: { yes: string; no: string } | null;
}

const FONT = "-apple-system, BlinkMacSystemFont, 'Segoe UI', Helvetica, Arial, sans-serif";
const MUTED = '#6b7280';

const attribute = (value: string) => value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The MJML source: brand values (validated URLs and colours) are fixed, per-message values are Handlebars slots. */
export function layoutMjml(brand: Brand, locale: string, withCta: boolean, withFeedback: boolean): string {
  const { primary, text, background } = brand.colors;
  const header = brand.logoUrl
    ? `<mj-image src="${attribute(brand.logoUrl)}" alt="{{product}}" width="120px" align="left" padding="0 24px"${brand.websiteUrl ? ` href="${attribute(brand.websiteUrl)}"` : ''} />`
    : `<mj-text font-size="20px" font-weight="700" padding="0 24px">{{product}}</mj-text>`;
  const cta = withCta
    ? `<mj-button href="{{cta.url}}" background-color="${primary}" color="#ffffff" font-weight="600" font-size="16px" border-radius="6px" align="left" inner-padding="12px 24px" padding="8px 24px 16px">{{cta.label}}</mj-button>`
    : '';
  const feedback = withFeedback
    ? `<mj-text font-size="14px" color="${MUTED}" padding="0 24px 8px">{{strings.helpful}} <a href="{{feedback.yes}}">{{strings.yes}}</a> · <a href="{{feedback.no}}">{{strings.no}}</a></mj-text>`
    : '';
  return `<mjml lang="${attribute(locale)}">
  <mj-head>
    <mj-title>{{subject}}</mj-title>
    <mj-preview>{{preheader}}</mj-preview>
    <mj-attributes>
      <mj-all font-family="${attribute(FONT)}" />
      <mj-text font-size="16px" line-height="24px" color="${text}" padding="8px 24px" />
    </mj-attributes>
    <mj-style>a { color: ${primary}; }</mj-style>
  </mj-head>
  <mj-body background-color="${background}" width="600px">
    <mj-section padding="24px 0 12px"><mj-column>${header}</mj-column></mj-section>
    <mj-section background-color="#ffffff" border-radius="8px" padding="16px 0">
      <mj-column>
        <mj-text>{{{body}}}</mj-text>
        ${cta}
      </mj-column>
    </mj-section>
    <mj-section padding="16px 0 32px">
      <mj-column>
        ${feedback}
        <mj-text font-size="12px" line-height="18px" color="${MUTED}">{{why}}{{#if postalAddress}}<br />{{postalAddress}}{{/if}}<br /><a href="{{preferencesUrl}}" style="color:${MUTED}">{{strings.preferences}}</a> · <a href="{{unsubscribeUrl}}" style="color:${MUTED}">{{strings.unsubscribe}}</a></mj-text>
      </mj-column>
    </mj-section>
  </mj-body>
</mjml>`;
}

const compiledLayouts = new Map<string, HandlebarsTemplateDelegate>();

async function compiledLayout(brand: Brand, locale: string, slots: LayoutSlots): Promise<HandlebarsTemplateDelegate> {
  const source = layoutMjml(brand, locale, slots.cta !== null, slots.feedback !== null);
  const cached = compiledLayouts.get(source);
  if (cached) return cached;
  // MJML loads on the first compile (~0.7 s): the CLI's commands that only validate templates never pay it.
  const { default: mjml2html } = await import('mjml');
  const { html, errors } = await mjml2html(source, { validationLevel: 'strict', minify: false });
  // The source is ours and the brand values validated: an error here is a bug, not a user's input.
  if (errors.length > 0) throw new Error(`email layout: ${errors.map((e) => e.formattedMessage).join('; ')}`);
  const template = Handlebars.compile(html);
  compiledLayouts.set(source, template);
  return template;
}

const whyLine = (slots: LayoutSlots) => slots.strings.why.replaceAll('{product}', slots.product);

export async function layoutHtml(brand: Brand, locale: string, slots: LayoutSlots): Promise<string> {
  const template = await compiledLayout(brand, locale, slots);
  return template({ ...slots, why: whyLine(slots) });
}

/** The text part: the template's text, the call to action as a labelled URL, and the footer. */
export function layoutText(body: string, slots: LayoutSlots): string {
  const lines = [body.trimEnd(), ''];
  if (slots.cta) lines.push(`${slots.cta.label}: ${slots.cta.url}`, '');
  if (slots.feedback) lines.push(`${slots.strings.helpful} ${slots.strings.yes}: ${slots.feedback.yes} · ${slots.strings.no}: ${slots.feedback.no}`, '');
  lines.push('--', slots.product);
  if (slots.postalAddress) lines.push(slots.postalAddress);
  lines.push(whyLine(slots), `${slots.strings.preferences}: ${slots.preferencesUrl}`, `${slots.strings.unsubscribe}: ${slots.unsubscribeUrl}`, '');
  return lines.join('\n');
}
