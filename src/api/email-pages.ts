import type { EmailSettings } from '../mail/email-settings.ts';
import type { EmailPreferences } from '../mail/email-preferences.ts';

/**
 * The pages a developer reaches from an email's footer (unsubscribe, the preference centre), in
 * the brand of templates/email.yaml: plain server-rendered HTML with one form, readable on a
 * phone, working without JavaScript.
 */

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function brandPage(settings: EmailSettings, title: string, content: string): string {
  const { brand } = settings;
  const { primary, text, background } = brand.colors;
  const logo = brand.logoUrl
    ? `<img src="${escapeHtml(brand.logoUrl)}" alt="${escapeHtml(brand.productName)}" width="120">`
    : `<strong class="product">${escapeHtml(brand.productName)}</strong>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>${escapeHtml(title)} · ${escapeHtml(brand.productName)}</title>
<style>
  body { margin: 0; background: ${background}; color: ${text}; font: 16px/1.5 -apple-system, BlinkMacSystemFont, 'Segoe UI', Helvetica, Arial, sans-serif; }
  main { max-width: 560px; margin: 0 auto; padding: 24px 16px 48px; }
  header { padding: 8px 8px 16px; } .product { font-size: 20px; }
  .card { background: #fff; border-radius: 8px; padding: 24px; }
  h1 { font-size: 22px; margin: 0 0 12px; }
  button { background: ${primary}; color: #fff; border: 0; border-radius: 6px; padding: 12px 20px; font: inherit; font-weight: 600; cursor: pointer; }
  button.secondary { background: #fff; color: ${primary}; border: 1px solid ${primary}; }
  a { color: ${primary}; }
  fieldset { border: 0; padding: 0; margin: 16px 0; }
  label.choice { display: flex; gap: 12px; align-items: flex-start; padding: 12px 0; border-top: 1px solid #e5e7eb; }
  label.choice.sub { padding-left: 30px; }
  label.choice input { margin-top: 5px; width: 18px; height: 18px; flex: none; }
  .muted { color: #6b7280; font-size: 14px; }
  footer { color: #6b7280; font-size: 12px; padding: 16px 8px; }
  .actions { display: flex; flex-wrap: wrap; gap: 12px; margin-top: 16px; }
</style></head>
<body><main><header>${logo}</header><div class="card">${content}</div>
<footer>${escapeHtml(brand.productName)}${brand.postalAddress ? ` · ${escapeHtml(brand.postalAddress)}` : ''}</footer></main></body></html>`;
}

export function unsubscribeConfirmPage(settings: EmailSettings, action: string, preferencesUrl: string): string {
  return brandPage(
    settings,
    'Unsubscribe',
    `<h1>Stop all onboarding emails from ${escapeHtml(settings.brand.productName)}?</h1>
<p>You will get no more tips or help emails. Account and security emails are not affected.</p>
<form method="post" action="${escapeHtml(action)}"><input type="hidden" name="List-Unsubscribe" value="One-Click">
<div class="actions"><button type="submit">Unsubscribe</button></div></form>
<p class="muted">Only want fewer emails? <a href="${escapeHtml(preferencesUrl)}">Choose which ones you get</a>.</p>`,
  );
}

export function unsubscribedPage(settings: EmailSettings, preferencesUrl: string): string {
  return brandPage(
    settings,
    'Unsubscribed',
    `<h1>You are unsubscribed</h1>
<p>${escapeHtml(settings.brand.productName)} will send you no more onboarding emails.</p>
<p class="muted">Changed your mind? <a href="${escapeHtml(preferencesUrl)}">Manage your email preferences</a>.</p>`,
  );
}

export function preferencesPage(settings: EmailSettings, action: string, submission: string, preferences: EmailPreferences, saved: boolean): string {
  const all = preferences.email === 'granted';
  const categories = Object.entries(settings.categories)
    .map(([id, c]) => {
      const on = preferences.categories[id] !== 'revoked';
      return `<label class="choice sub"><input type="checkbox" name="category" value="${escapeHtml(id)}"${on ? ' checked' : ''}${all ? '' : ' disabled'}>
<span><strong>${escapeHtml(c.label)}</strong>${c.description ? `<br><span class="muted">${escapeHtml(c.description)}</span>` : ''}</span></label>`;
    })
    .join('\n');
  return brandPage(
    settings,
    'Email preferences',
    `<h1>Email preferences</h1>
${saved ? '<p role="status"><strong>Saved.</strong> Your choices apply from the next email.</p>' : ''}
<form method="post" action="${escapeHtml(action)}">
<input type="hidden" name="submission" value="${escapeHtml(submission)}">
<fieldset><legend class="muted">Which onboarding emails from ${escapeHtml(settings.brand.productName)} do you want?</legend>
<label class="choice"><input type="checkbox" name="all" value="on"${all ? ' checked' : ''} onchange="for (const c of this.form.querySelectorAll('[name=category]')) c.disabled = !this.checked">
<span><strong>Onboarding emails</strong><br><span class="muted">Turn off to stop all of them.</span></span></label>
${categories}
</fieldset>
<div class="actions"><button type="submit">Save preferences</button></div>
</form>`,
  );
}

export function feedbackThanksPage(settings: EmailSettings, helpful: boolean): string {
  return brandPage(
    settings,
    'Thank you',
    `<h1>Thank you</h1><p>${helpful ? 'Glad it helped.' : 'Sorry it did not help. Reply to the email and tell us what you needed: a person reads it.'}</p>`,
  );
}

/** For a link a scanner may have followed: the question again, answered with a button a person presses. */
export function feedbackAskPage(settings: EmailSettings, action: string): string {
  return brandPage(
    settings,
    'Was this email helpful?',
    `<h1>Was this email helpful?</h1>
<form method="post" action="${escapeHtml(action)}"><div class="actions">
<button type="submit" name="answer" value="yes">Yes</button><button type="submit" name="answer" value="no" class="secondary">No</button></div></form>`,
  );
}
