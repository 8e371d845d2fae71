/**
 * Whether a gateway's logged request was test or live traffic: the delivery's `X-Onramp-Mode`
 * header (set per log plugin or stream, e.g. on a staging gateway) wins; else a key holding a
 * `test_` segment (`sk_test_…`, `test_…`) is test; else live.
 */
export function requestMode(deliveryHeader: string | string[] | undefined, apiKey: string | undefined): 'test' | 'live' {
  const header = (Array.isArray(deliveryHeader) ? deliveryHeader[0] : deliveryHeader)?.trim().toLowerCase();
  if (header === 'test' || header === 'live') return header;
  return apiKey !== undefined && /(^|_)test_/i.test(apiKey) ? 'test' : 'live';
}
