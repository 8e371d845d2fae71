import { z } from 'zod';
import { EMAIL_CATEGORY_ID, localeTag } from '../events/profile-fields.ts';
import { configFormat } from '../rules/config-file.ts';

/**
 * `templates/email.yaml`: what every nudge email shares. The brand (name, logo, colours, the
 * footer's postal address that CAN-SPAM asks for, the sender), the categories a developer can
 * opt out of one by one in the preference centre, the default locale, and the layout's own words
 * per locale. A folder without the file gets the defaults below.
 */

const colour = z
  .string()
  .regex(/^#[0-9a-fA-F]{6}$/, 'must be a hex colour like #4f46e5')
  .describe('a #rrggbb colour');

const categoryId = z.string().regex(EMAIL_CATEGORY_ID, 'must be lower_snake_case, e.g. error_help');

/** The layout's words; a locale overrides those it names, English fills the rest. */
const layoutStrings = z.strictObject({
  preferences: z.string().min(1).max(100).optional().describe('the footer link to the preference centre'),
  unsubscribe: z.string().min(1).max(100).optional().describe('the footer link that stops all onboarding email'),
  why: z.string().min(1).max(300).optional().describe('why the developer gets this email; {product} is the product name'),
  helpful: z.string().min(1).max(100).optional().describe('the question before the yes/no links'),
  yes: z.string().min(1).max(30).optional(),
  no: z.string().min(1).max(30).optional(),
});
export type LayoutStrings = Required<z.output<typeof layoutStrings>>;

export const DEFAULT_STRINGS: LayoutStrings = {
  preferences: 'Email preferences',
  unsubscribe: 'Unsubscribe',
  why: 'You get this email because you signed up for {product}.',
  helpful: 'Was this email helpful?',
  yes: 'Yes',
  no: 'No',
};

const brand = z.strictObject({
  productName: z.string().min(1).max(100).default('Onramp').describe('named in the footer, the pages and the greeting line'),
  logoUrl: z
    .url({ protocol: /^https?$/ })
    .max(2048)
    .optional()
    .describe('an image at the top of every email (https, ideally 2× its 120 px display width)'),
  websiteUrl: z
    .url({ protocol: /^https?$/ })
    .max(2048)
    .optional()
    .describe('where the logo links to'),
  colors: z
    .strictObject({
      primary: colour.default('#4f46e5').describe('the call-to-action button and links'),
      text: colour.default('#1f2937'),
      background: colour.default('#f4f5f7').describe('around the message'),
    })
    .default({ primary: '#4f46e5', text: '#1f2937', background: '#f4f5f7' }),
  postalAddress: z.string().min(1).max(300).optional().describe('your postal address, shown in every footer (CAN-SPAM requires one in commercial email)'),
  from: z.string().min(3).max(320).optional().describe('the sender, e.g. "Acme <onboarding@acme.dev>"; ONRAMP_MAIL_FROM wins when set'),
});

const category = z.strictObject({
  label: z.string().min(1).max(100),
  description: z.string().max(300).optional(),
});

export const emailSettingsDocument = z
  .strictObject({
    brand: brand.default(brand.parse({})),
    defaultLocale: localeTag.default('en').describe('the locale of the templates at the top of each folder'),
    categories: z
      .record(categoryId, category)
      .refine((c) => Object.keys(c).length > 0, 'needs at least one category')
      .default({
        onboarding_tips: { label: 'Onboarding tips', description: 'Help with the next step when you seem stuck.' },
        error_help: { label: 'Help with errors', description: 'A note when your requests fail in a way we can help with.' },
      })
      .describe('what a developer can opt out of one by one; each template names its category'),
    strings: z.record(localeTag, layoutStrings).default({}).describe("the layout's words per locale (English by default)"),
  })
  .describe('What every nudge email shares: the brand, the preference categories, the default locale');

export type EmailSettings = z.output<typeof emailSettingsDocument>;
export type Brand = EmailSettings['brand'];

/** The sender when neither ONRAMP_MAIL_FROM nor the brand names one. */
export const DEFAULT_SENDER = 'Onramp <onboarding@onramp.local>';

export const DEFAULT_EMAIL_SETTINGS: EmailSettings = emailSettingsDocument.parse({});

export const emailSettingsFormat = configFormat({
  label: 'email settings',
  title: 'Onramp email settings',
  schema: emailSettingsDocument,
  namedLists: {},
  emptyFileMessage: 'the file is empty: delete it to use the defaults, or set `brand:`',
});

/** The layout's words in `locale` (its language's when only that is set), English where it says nothing. */
export function layoutStringsFor(settings: EmailSettings, locale: string): LayoutStrings {
  const language = locale.split('-')[0]!;
  return { ...DEFAULT_STRINGS, ...settings.strings[language], ...settings.strings[locale] } as LayoutStrings;
}
