import { lookup } from 'node:dns/promises';
import ipaddr from 'ipaddr.js';

/**
 * Why a receiver URL cannot be subscribed, or undefined: an advisory check at subscription time, so
 * the operator hears of a blocked address at once. Delivery enforces the same rule at connect
 * time (send-webhook.ts), after every DNS lookup.
 */
export async function receiverAddressProblem(url: URL, allowedAddresses: readonly string[]): Promise<string | undefined> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: string[];
  try {
    addresses = ipaddr.isValid(host) ? [host] : (await lookup(host, { all: true })).map((a) => a.address);
  } catch {
    return `${host} does not resolve`;
  }
  const blocked = addresses.find((address) => !isAllowed(address, allowedAddresses));
  return blocked === undefined
    ? undefined
    : `${blocked === host ? host : `${host} resolves to ${blocked}, which`} is a private, loopback or reserved address: webhooks go to public addresses only unless ONRAMP_WEBHOOK_ALLOWED_ADDRESSES lists it`;
}

function isAllowed(address: string, allowed: readonly string[]): boolean {
  const parsed = ipaddr.process(address);
  const listed = allowed.some((entry) => {
    try {
      if (ipaddr.isValid(entry)) return ipaddr.process(entry).toString() === parsed.toString();
      const [range, bits] = ipaddr.parseCIDR(entry);
      return range.kind() === parsed.kind() && parsed.match([range, bits]);
    } catch {
      return false;
    }
  });
  return listed || parsed.range() === 'unicast';
}
