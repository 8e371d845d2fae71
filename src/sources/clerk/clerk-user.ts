import { z } from 'zod';
import { profileLocale, profileName } from '../../events/profile-fields.ts';
import { ACCOUNT_TYPES, ACQUISITION_CHANNELS } from '../../rules/rules-schema.ts';

/**
 * Clerk's `user.created` webhook as a `developer.signed_up`: the developer is the user's
 * `external_id` (your own id, when your sign-up flow sets one) or else Clerk's user id; the email
 * is the primary address, the name the user's first and last names; account type, acquisition
 * channel, organisation, time zone and locale come from
 * the user's public (else unsafe) metadata when they hold valid values — Clerk knows none of them —
 * else the account is `individual` and the channel `other` (unknown).
 */

const metadata = z.record(z.string(), z.unknown()).default({});

/** What Onramp reads of Clerk's user object (Clerk sends more; the rest is ignored). */
export const clerkUserCreated = z.object({
  type: z.literal('user.created'),
  data: z.object({
    id: z.string().min(1).max(200),
    external_id: z.string().min(1).max(200).nullish(),
    first_name: z.string().nullish(),
    last_name: z.string().nullish(),
    created_at: z.number().int().nonnegative(),
    primary_email_address_id: z.string().nullish(),
    email_addresses: z.array(z.object({ id: z.string(), email_address: z.string() })).default([]),
    public_metadata: metadata,
    unsafe_metadata: metadata,
  }),
});

export type ClerkUserCreated = z.output<typeof clerkUserCreated>;

/** Onramp's event id for a Clerk delivery: the Svix message id, namespaced (Svix retries keep it). */
export const clerkEventId = (svixId: string) => `clerk:${svixId}`;

export function signupFromClerkUser(svixId: string, { data }: ClerkUserCreated): Record<string, unknown> {
  const email = data.email_addresses.find((address) => address.id === data.primary_email_address_id)?.email_address ?? data.email_addresses[0]?.email_address;
  const pick = (key: string, allowed?: readonly string[]) => {
    for (const source of [data.public_metadata, data.unsafe_metadata]) {
      const value = source[key];
      if (typeof value === 'string' && (!allowed || allowed.includes(value))) return value;
    }
    return undefined;
  };
  const orgId = pick('orgId');
  const timezone = pick('timezone');
  const name = profileName(data.first_name, data.last_name);
  const locale = profileLocale(pick('locale'));
  return {
    id: clerkEventId(svixId),
    type: 'developer.signed_up',
    developerId: data.external_id ?? data.id,
    occurredAt: new Date(data.created_at).toISOString(),
    properties: {
      ...(email === undefined ? {} : { email }),
      accountType: pick('accountType', ACCOUNT_TYPES) ?? 'individual',
      acquisitionChannel: pick('acquisitionChannel', ACQUISITION_CHANNELS) ?? 'other',
      ...(orgId === undefined ? {} : { orgId }),
      ...(timezone === undefined ? {} : { timezone }),
      ...(name === undefined ? {} : { name }),
      ...(locale === undefined ? {} : { locale }),
    },
  };
}
