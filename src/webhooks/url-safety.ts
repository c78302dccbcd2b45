import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions, type LookupOneOptions } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { DomainError } from '../shared/errors.ts';

/** Addresses a webhook must never reach: private, loopback, link-local (cloud metadata), CGNAT, multicast, reserved. */
const blocked = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  blocked.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
] as const) {
  blocked.addSubnet(net, prefix, 'ipv6');
}

/** IPv4 carried inside IPv6 (mapped ::ffff:a.b.c.d, NAT64 64:ff9b::/96, 6to4 2002::/16) is judged as IPv4. */
function embeddedIpv4(address: string): string | undefined {
  const lower = address.toLowerCase();
  const dotted = /^(?:::ffff:|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (dotted) return dotted[1];
  const hex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  const sixToFour = /^2002:([0-9a-f]{1,4}):([0-9a-f]{1,4}):/.exec(lower);
  const parts = hex ?? sixToFour;
  if (!parts) return undefined;
  const hi = Number.parseInt(parts[1] as string, 16);
  const lo = Number.parseInt(parts[2] as string, 16);
  return [hi >> 8, hi & 255, lo >> 8, lo & 255].join('.');
}

export function isBlockedAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return blocked.check(address, 'ipv4');
  if (family === 6) {
    const v4 = embeddedIpv4(address);
    if (v4) return blocked.check(v4, 'ipv4');
    return blocked.check(address, 'ipv6');
  }
  return true;
}

export class BlockedAddressError extends Error {
  readonly code = 'webhook_address_blocked';
  constructor(host: string, address: string) {
    super(`${host} resolves to ${address}, a private, loopback, link-local or reserved address`);
    this.name = 'BlockedAddressError';
  }
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A dns.lookup replacement for the HTTP agent: the check runs on the address the socket is about to connect to,
 * so a name that resolves differently later (DNS rebinding) is still refused.
 */
export function guardedLookup(hostname: string, options: LookupOneOptions | LookupAllOptions, callback: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, '');
    const list = addresses as LookupAddress[];
    const bad = list.find((a) => isBlockedAddress(a.address));
    if (bad || list.length === 0) return callback(new BlockedAddressError(hostname, bad?.address ?? 'nothing'), '');
    if ((options as LookupAllOptions).all) return callback(null, list);
    const first = list[0] as LookupAddress;
    callback(null, first.address, first.family);
  });
}

export interface UrlPolicy {
  production: boolean;
  allowPrivateNetworks: boolean;
}

function refuse(code: string, message: string): never {
  throw new DomainError('unprocessable', code, message, { errors: [{ field: 'url', message }] });
}

/** The bracket-free host of a URL (IPv6 literals come bracketed from WHATWG URL). */
export function urlHost(url: URL): string {
  return url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
}

/**
 * Checks a webhook URL when it is registered or changed. The connect-time check (guardedLookup) is the one that
 * counts; this one gives the caller a clear error early.
 */
export async function assertWebhookUrlAllowed(raw: string, policy: UrlPolicy): Promise<URL> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return refuse('webhook_url_invalid', 'not an absolute URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') refuse('webhook_url_invalid', 'the URL must use https');
  if (url.username || url.password)
    refuse('webhook_url_invalid', 'credentials in the URL are not allowed; use the signature to authenticate');
  if (url.protocol === 'http:' && (policy.production || !policy.allowPrivateNetworks)) {
    refuse('webhook_url_insecure', 'the URL must use https');
  }
  if (policy.allowPrivateNetworks) return url;
  const host = urlHost(url);
  if (isIP(host)) {
    if (isBlockedAddress(host)) refuse('webhook_url_private_address', `${host} is a private, loopback, link-local or reserved address`);
    return url;
  }
  if (host === 'localhost' || host.endsWith('.localhost') || host.endsWith('.internal') || host.endsWith('.local')) {
    refuse('webhook_url_private_address', `${host} is a local name`);
  }
  const addresses = await new Promise<LookupAddress[]>((resolve) =>
    dnsLookup(host, { all: true }, (error, list) => resolve(error ? [] : list)),
  );
  const bad = addresses.find((a) => isBlockedAddress(a.address));
  if (bad) refuse('webhook_url_private_address', `${host} resolves to ${bad.address}, a private, loopback, link-local or reserved address`);
  return url;
}
