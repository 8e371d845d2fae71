import type { EmailTemplates, RenderedEmail } from './email-templates.ts';
import { feedbackUrls } from './tracking/feedback-token.ts';
import { preferencesUrl, unsubscribeUrl } from './unsubscribe-token.ts';

/** Who a nudge is for, as the developers table has them (no address: a preview needs none). */
export interface NudgeRecipient {
  id: string;
  name: string | null;
  locale: string | null;
  accountType: string | null;
  channel: string | null;
}

export interface NudgeEmailInput {
  recipient: NudgeRecipient;
  template: string;
  /** The stage they are stuck in and its label in the funnel version they follow; null for a burst nudge. */
  stage: string | null;
  stageLabel: string | null;
  burst?: { endpoint: string | null; status: number | null; count: number | null } | null;
  /** The email's row id (`<developerId>/<nudgeKey>`): the "was this helpful?" links name it. */
  emailId: string;
}

export interface NudgeLinkSettings {
  publicUrl: string;
  signingSecret: string;
  docsUrl: string;
}

export type NudgeEmail = RenderedEmail & { unsubscribeUrl: string; preferencesUrl: string; feedback: { yes: string; no: string } };

/** The first word of a name, for the greeting ("Ada Lovelace" → "Ada"). */
export const firstNameOf = (name: string | null): string | null => name?.trim().split(/\s+/)[0] || null;

/**
 * A nudge as the developer gets it: the template's variables (templates/README.md) from their
 * profile, the stage or the burst, their signed unsubscribe and preference links, and the
 * "was this helpful?" links of this email. The send
 * activity and the preview render through here, so a preview is the email that would go out.
 */
export async function renderNudgeEmail(templates: EmailTemplates, input: NudgeEmailInput, links: NudgeLinkSettings): Promise<NudgeEmail> {
  const { recipient } = input;
  const unsubscribe = unsubscribeUrl(links.publicUrl, links.signingSecret, recipient.id);
  const preferences = preferencesUrl(links.publicUrl, links.signingSecret, recipient.id);
  const feedback = feedbackUrls(links.publicUrl, links.signingSecret, { developerId: recipient.id, emailId: input.emailId });
  const rendered = await templates.render(
    input.template,
    {
      developer: {
        id: recipient.id,
        accountType: recipient.accountType,
        channel: recipient.channel,
        name: recipient.name,
        firstName: firstNameOf(recipient.name),
        locale: recipient.locale,
      },
      stage: input.stage,
      stageLabel: input.stageLabel,
      endpoint: input.burst?.endpoint ?? null,
      status: input.burst?.status ?? null,
      count: input.burst?.count ?? null,
      docsUrl: links.docsUrl,
      unsubscribeUrl: unsubscribe,
      preferencesUrl: preferences,
    },
    recipient.locale,
    feedback,
  );
  return { ...rendered, unsubscribeUrl: unsubscribe, preferencesUrl: preferences, feedback };
}
