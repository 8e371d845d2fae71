/** What a `developer.signed_up` event says of the developer; the email defaults to `<id>@example.com`. */
export interface SignupProfile {
  email?: string;
  accountType: 'individual' | 'organization';
  acquisitionChannel: string;
  timezone?: string;
  name?: string;
  locale?: string;
}

/**
 * The two events a journey through the API starts with, at the same instant: `developer.signed_up`
 * (id `<id>-s`) and `api_key.created` (id `<id>-k`, key `key_<id>`, test mode).
 */
export function signupWithKey(id: string, occurredAt: string, profile: SignupProfile) {
  return [
    { id: `${id}-s`, type: 'developer.signed_up', developerId: id, occurredAt, properties: { email: `${id}@example.com`, ...profile } },
    { id: `${id}-k`, type: 'api_key.created', developerId: id, occurredAt, properties: { apiKey: `key_${id}`, mode: 'test' } },
  ];
}
