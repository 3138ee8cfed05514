import { BlockList, isIP } from 'node:net';
import { Strategy } from 'passport-strategy';
import type { Request } from 'express';
import { booleanOption, objectOption, onlyKnownKeys, optionKeys, readRawHeaderGroup } from '@mcp-identity/core/internal';
import { headerText } from './single-header.js';

/** Header names an auth proxy in front sets. Defaults follow oauth2-proxy. */
export interface TrustedProxyHeaders {
  /** Default `"x-forwarded-user"`. */
  readonly id?: string;
  /** Default `"x-forwarded-email"`. */
  readonly email?: string;
  /** Default `"x-forwarded-preferred-username"`. */
  readonly name?: string;
  /** Comma-separated list. Default `"x-forwarded-groups"`. */
  readonly groups?: string;
}

/** Options of {@link TrustedProxyStrategy}. */
export interface TrustedProxyStrategyOptions {
  /** Addresses or CIDR ranges of the auth proxies (IPv4 or IPv6). Required, non-empty. */
  readonly trustedProxies: readonly string[];
  readonly headers?: TrustedProxyHeaders;
  /**
   * Allows an entry of `trustedProxies` with prefix length 0 (`0.0.0.0/0`, `::/0`), which trusts
   * every peer to assert any identity. Refused at construction unless this is `true`. Default `false`.
   */
  readonly trustAnyAddress?: boolean;
}

function buildBlockList(entries: readonly string[], trustAnyAddress: boolean): BlockList {
  if (!Array.isArray(entries) || entries.length === 0) {
    throw new TypeError('trustedProxies must list at least one proxy address or CIDR range');
  }
  const list = new BlockList();
  entries.forEach((entry, index) => {
    const [address = '', bits, extra] = String(entry).split('/');
    const family = isIP(address);
    if (family === 0) throw new TypeError(`trustedProxies[${index}] is not an IP address or CIDR range`);
    const type = family === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) {
      list.addAddress(address, type);
      return;
    }
    // Digits only: Number('') is 0 and Number('0x8') is 8, so a typo would widen the range.
    const prefix = extra === undefined && /^\d{1,3}$/.test(bits) ? Number(bits) : NaN;
    if (!Number.isInteger(prefix) || prefix < 0 || prefix > (family === 6 ? 128 : 32))
      throw new TypeError(`trustedProxies[${index}] has a bad prefix length`);
    // Any address: every client could then assert any identity.
    if (prefix === 0 && !trustAnyAddress)
      throw new TypeError(
        `trustedProxies[${index}] trusts every address (prefix length 0); set trustAnyAddress: true if that is really meant`,
      );
    list.addSubnet(address, prefix, type);
  });
  return list;
}

function peerMatches(list: BlockList, address: string | undefined): boolean {
  if (address === undefined) return false;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1] !== undefined) return list.check(mapped[1], 'ipv4') || list.check(address, 'ipv6');
  return list.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4');
}

const OPTION_KEYS = optionKeys<TrustedProxyStrategyOptions>()(['trustedProxies', 'headers', 'trustAnyAddress']);
const HEADER_KEYS = optionKeys<TrustedProxyHeaders>()(['id', 'email', 'name', 'groups']);

/**
 * A Passport strategy for a trusted authentication proxy in front of the gateway
 * (oauth2-proxy, an ingress with auth_request...), registered as `"trusted-proxy"`.
 * The proxy's headers are read **only** when the TCP peer (the socket address, never
 * `X-Forwarded-For`) is in `trustedProxies`. A request carrying any of them spelled with `_`
 * or sent twice is not authenticated (401): the proxy never sends those, a client does.
 * @example
 * passport.use(new TrustedProxyStrategy({ trustedProxies: ['10.0.0.0/8'] }));
 */
export class TrustedProxyStrategy extends Strategy {
  readonly name = 'trusted-proxy';
  private readonly _trusted: BlockList;
  private readonly _headers: Required<TrustedProxyHeaders>;

  /**
   * Creates the strategy; a bad option throws a `TypeError` naming it.
   * @param options - `trustedProxies` (addresses or CIDR ranges) and the proxy's header names.
   */
  constructor(options: TrustedProxyStrategyOptions) {
    super();
    if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object with trustedProxies');
    // A misspelt header name (`headers.user`) would leave the default in use: a header the proxy
    // may pass through from the client.
    onlyKnownKeys(options, 'TrustedProxyStrategy', OPTION_KEYS);
    if (options.headers !== undefined)
      onlyKnownKeys(objectOption(options.headers, 'headers'), 'TrustedProxyStrategy headers', HEADER_KEYS, { prefix: 'headers.' });
    this._trusted = buildBlockList(options.trustedProxies, booleanOption(options.trustAnyAddress, 'trustAnyAddress', false));
    const headers: { -readonly [K in keyof TrustedProxyHeaders]-?: string } = {
      id: 'x-forwarded-user',
      email: 'x-forwarded-email',
      name: 'x-forwarded-preferred-username',
      groups: 'x-forwarded-groups',
    };
    for (const key of Object.keys(headers) as (keyof TrustedProxyHeaders)[]) {
      const name: unknown = options.headers?.[key];
      if (name === undefined) continue;
      // Header names are matched with `_` read as `-`, so a name with `_` would never match.
      if (typeof name !== 'string' || !/^[A-Za-z0-9-]+$/.test(name)) throw new TypeError(`headers.${key} must be a header name`);
      headers[key] = name;
    }
    this._headers = headers;
  }

  override authenticate(req: Request): void {
    if (!peerMatches(this._trusted, req.socket.remoteAddress)) {
      this.fail(401);
      return;
    }
    // One read of every header the proxy sets: a spelling with `_` or a second copy of any
    // of them means the client added it, and the request is refused rather than half-read.
    const names = new Set(Object.values(this._headers).map((name) => name.toLowerCase()));
    const group = readRawHeaderGroup(req.rawHeaders, (canonical) => names.has(canonical));
    if (!group.ok) {
      this.fail(401);
      return;
    }
    const read = (name: string): string | undefined => {
      const value = group.headers.get(name.toLowerCase());
      return value === undefined ? undefined : headerText(value).trim() || undefined;
    };
    const id = read(this._headers.id);
    if (id === undefined) {
      this.fail(401);
      return;
    }
    const groups = read(this._headers.groups);
    this.success({
      id,
      email: read(this._headers.email),
      name: read(this._headers.name),
      groups:
        groups === undefined
          ? []
          : groups
              .split(',')
              .map((group) => group.trim())
              .filter((group) => group.length > 0),
    });
  }
}
