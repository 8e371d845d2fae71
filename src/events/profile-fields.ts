import { z } from 'zod';

/** language[-Script][-REGION][-variant]: the BCP 47 tags a template folder may be named by (no extensions). */
const LOCALE_TAG = /^[A-Za-z]{2,3}(-[A-Za-z]{4})?(-([A-Za-z]{2}|[0-9]{3}))?(-([A-Za-z0-9]{5,8}|[0-9][A-Za-z0-9]{3}))?$/;

/** A BCP 47 tag as Intl canonicalises it (`en`, `pt-BR`); a tag Intl refuses is an error. */
export const localeTag = z
  .string()
  .max(35)
  .regex(LOCALE_TAG, 'must be a BCP 47 language tag, e.g. en or pt-BR')
  .transform((value, ctx) => {
    try {
      const [canonical] = Intl.getCanonicalLocales(value);
      if (canonical) return canonical;
    } catch {
      // reported below
    }
    ctx.addIssue({ code: 'custom', message: 'must be a BCP 47 language tag, e.g. en or pt-BR' });
    return z.NEVER;
  });

/** An email preference category's id (templates/email.yaml, `consent.updated`'s `categories`). */
export const EMAIL_CATEGORY_ID = /^[a-z][a-z0-9_]{0,62}$/;

/** A name as a source reports it, fit for `developer.signed_up`'s `name`: trimmed, at most 200 characters; none when blank. */
export function profileName(...parts: unknown[]): string | undefined {
  const name = parts
    .filter((p): p is string => typeof p === 'string')
    .map((p) => p.trim())
    .filter((p) => p !== '')
    .join(' ');
  return name === '' ? undefined : name.slice(0, 200);
}

/**
 * A locale as a source reports it (`en_US`, `fr-ca`), canonicalised for `developer.signed_up`'s
 * `locale`; none when it is no language tag (a source's odd value must not cost the signup).
 */
export function profileLocale(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const parsed = localeTag.safeParse(value.trim().replaceAll('_', '-'));
  return parsed.success ? parsed.data : undefined;
}
