import {
  canonicalHeaderName,
  decodeHeaderList,
  decodeHeaderValue,
  encodeHeaderList,
  encodeHeaderValue,
  headerAgreesWithUser,
  identityHeaderPrefix,
  identityHeaderSuffixes,
  normalizePrefix,
  normalizeUserContext,
  userToHeaders,
  headerValueAsUtf8,
} from '../src/internal.js';
import type { IdentityHeaderSuffix } from '../src/internal.js';

// Expected encodings written from the rule: UTF-8, then every byte outside 0x21-0x7E, and
// `%` and `,`, as upper-case %XX.
const encodings: [label: string, value: string, encoded: string][] = [
  ['plain ASCII', 'alice@example.com', 'alice@example.com'],
  ['an accented letter (é is C3 A9)', 'José', 'Jos%C3%A9'],
  ['an emoji (🚀 is F0 9F 9A 80)', 'équipe-🚀', '%C3%A9quipe-%F0%9F%9A%80'],
  ['a comma', 'eng,ops', 'eng%2Cops'],
  ['a percent sign', '100%', '100%25'],
  ['an already encoded-looking value', '%41', '%2541'],
  ['a space', 'Ada Lovelace', 'Ada%20Lovelace'],
  ['CR and LF', 'a\r\nX-Forwarded-User-Admin: true', 'a%0D%0AX-Forwarded-User-Admin:%20true'],
  ['a tab, NUL and DEL', '\t\0\x7f', '%09%00%7F'],
  ['the printable edges', '!~', '!~'],
  ['a quote and a semicolon', '"a";b', '"a";b'],
];

describe('encodeHeaderValue', () => {
  it.each(encodings)('encodes %s', (_label, value, encoded) => {
    expect(encodeHeaderValue(value)).toBe(encoded);
  });

  it.each(encodings)('never leaves a control byte, space, comma or non-ASCII byte in %s', (_label, value) => {
    expect(encodeHeaderValue(value)).toMatch(/^[\x21-\x2b\x2d-\x7e]*$/);
  });
});

describe('decodeHeaderValue', () => {
  it.each(encodings)('decodes %s back to the original', (_label, value, encoded) => {
    expect(decodeHeaderValue(encoded)).toBe(value);
  });

  it.each(['José', 'équipe-🚀', 'eng,ops', '%', ' ', '\r\n', 'a%2Cb', '日本語 テキスト', 'x'.repeat(1024), '\u{10FFFF}'])(
    'round-trips %j',
    (value) => {
      expect(decodeHeaderValue(encodeHeaderValue(value))).toBe(value);
    },
  );

  it.each([
    ['empty', ''],
    ['a stray percent at the end', 'abc%'],
    ['a percent with one hex digit', 'abc%4'],
    ['a percent with non-hex digits', '%ZZ'],
    ['lower-case hex', 'Jos%c3%a9'],
    ['mixed-case hex', 'Jos%C3%a9'],
    ['an encoded plain byte (%41 is A)', '%41'],
    ['an encoded plain byte beside a valid escape', 'Jos%C3%A9%2D'],
    ['a lone continuation byte', '%80'],
    ['a truncated sequence', 'Jos%C3'],
    ['an overlong encoding of /', '%C0%AF'],
    ['an encoded UTF-16 surrogate', '%ED%A0%80'],
    ['0xFF', '%FF'],
    ['a raw space', 'Ada Lovelace'],
    ['a raw comma', 'eng,ops'],
    ['raw CR LF', 'a\r\nb'],
    ['a raw tab', 'a\tb'],
    ['a raw non-ASCII character', 'José'],
    ['a raw control character beside an escape', '%C3%A9\x01'],
  ])('refuses %s', (_label, encoded) => {
    expect(decodeHeaderValue(encoded)).toBeUndefined();
  });
});

describe('encodeHeaderList / decodeHeaderList', () => {
  it('joins encoded elements with a bare comma', () => {
    expect(encodeHeaderList(['eng,ops', 'José', 'dev'])).toBe('eng%2Cops,Jos%C3%A9,dev');
  });

  it.each([[['eng,ops', 'dev']], [['José', 'équipe-🚀', '100%', 'a b']], [['solo']], [[',', ',,', '%2C']]])('round-trips %j', (values) => {
    expect(decodeHeaderList(encodeHeaderList(values))).toEqual(values);
  });

  it('keeps a comma inside an element apart from the separator', () => {
    expect(decodeHeaderList('eng%2Cops,dev')).toEqual(['eng,ops', 'dev']);
  });

  it.each([
    ['empty', ''],
    ['an empty element', 'a,,b'],
    ['a trailing comma', 'a,'],
    ['a leading comma', ',a'],
    ['a malformed element', 'a,%zz'],
    ['a space after the comma', 'a, b'],
  ])('refuses %s', (_label, encoded) => {
    expect(decodeHeaderList(encoded)).toBeUndefined();
  });
});

describe('canonicalHeaderName / normalizePrefix', () => {
  it.each([
    ['X-Forwarded-User-Id', 'x-forwarded-user-id'],
    ['X_FORWARDED_USER_ID', 'x-forwarded-user-id'],
    ['x-Forwarded_user-ID', 'x-forwarded-user-id'],
  ])('reads %s as %s', (name, canonical) => {
    expect(canonicalHeaderName(name)).toBe(canonical);
  });

  it.each([
    ['X-Forwarded-User', 'x-forwarded-user'],
    ['  X_Forwarded_User- ', 'x-forwarded-user'],
    ['X-Forwarded-User---', 'x-forwarded-user'],
  ])('normalizes the prefix %j to %s', (prefix, normalized) => {
    expect(normalizePrefix(prefix)).toBe(normalized);
  });
});

describe('identityHeaderPrefix', () => {
  it.each([
    [undefined, 'x-forwarded-user'],
    ['X-Auth-User', 'x-auth-user'],
    ['X_Identity-', 'x-identity'],
  ])('accepts %j as %s', (value, prefix) => {
    expect(identityHeaderPrefix(value)).toBe(prefix);
  });

  it.each(['---', '__', '-_-', '-'])('refuses %j, which normalizes to the empty prefix, naming the option', (value) => {
    expect(() => identityHeaderPrefix(value, 'carry.headerPrefix')).toThrow(/^carry\.headerPrefix must contain a letter or digit/);
  });

  it.each(['', 'X Forwarded', 'X.User', 'x'.repeat(65), 42, null])('refuses %j as not a header name prefix', (value) => {
    expect(() => identityHeaderPrefix(value)).toThrow(/^headerPrefix must be a header name prefix/);
  });
});

const fullUser = normalizeUserContext({
  id: 'José',
  email: 'jose@example.com',
  name: 'José Ñúñez',
  groups: ['eng,ops', 'équipe-🚀'],
  teams: ['core'],
  roles: ['admin', 'reader'],
  isAdmin: true,
  authMethod: 'sso',
  delegationChain: ['agent one', 'agent-2'],
  issuer: 'https://idp.example',
  attributes: { department: 'R&D' },
  scopes: ['notes:read', 'profile'],
  clientId: 'client 1',
  resource: 'https://mcp.example/mcp',
});
const minimalUser = normalizeUserContext({ id: 'u-1', authMethod: 'api_key' });

describe('userToHeaders', () => {
  it('writes every field of a full user under the prefix, encoded', () => {
    expect(userToHeaders(fullUser, 'x-forwarded-user')).toStrictEqual({
      'x-forwarded-user-id': 'Jos%C3%A9',
      'x-forwarded-user-email': 'jose@example.com',
      'x-forwarded-user-full-name': 'Jos%C3%A9%20%C3%91%C3%BA%C3%B1ez',
      'x-forwarded-user-groups': 'eng%2Cops,%C3%A9quipe-%F0%9F%9A%80',
      'x-forwarded-user-teams': 'core',
      'x-forwarded-user-roles': 'admin,reader',
      'x-forwarded-user-admin': 'true',
      'x-forwarded-user-auth-method': 'sso',
      'x-forwarded-user-service-account': 'agent-2',
      'x-forwarded-user-delegation-chain': 'agent%20one,agent-2',
      'x-forwarded-user-scopes': 'notes:read,profile',
      'x-forwarded-user-client-id': 'client%201',
      'x-forwarded-user-resource': 'https://mcp.example/mcp',
    });
  });

  it("writes an OAuth login's scopes, client and resource", () => {
    const user = normalizeUserContext({
      id: 'u',
      authMethod: 'oauth',
      scopes: ['notes:read', 'a,b'],
      clientId: 'vs code',
      resource: 'https://mcp.example/mcp',
    });
    expect(userToHeaders(user, 'x')).toMatchObject({
      'x-scopes': 'notes:read,a%2Cb',
      'x-client-id': 'vs%20code',
      'x-resource': 'https://mcp.example/mcp',
    });
    expect(headerAgreesWithUser('scopes', 'notes:read,a%2Cb', user)).toBe(true);
    expect(headerAgreesWithUser('scopes', 'notes:read', user)).toBe(false);
    expect(headerAgreesWithUser('client-id', 'vs%20code', user)).toBe(true);
    expect(headerAgreesWithUser('client-id', 'other', user)).toBe(false);
    expect(headerAgreesWithUser('resource', 'https://mcp.example/other', user)).toBe(false);
  });

  it('writes only id, admin and auth-method for a minimal user', () => {
    expect(userToHeaders(minimalUser, 'x-user')).toStrictEqual({
      'x-user-id': 'u-1',
      'x-user-admin': 'false',
      'x-user-auth-method': 'api_key',
    });
  });

  it('produces exactly the documented suffixes for a full user', () => {
    const oauthUser = normalizeUserContext({ ...fullUser, scopes: ['notes:read'], clientId: 'c-1', resource: 'https://mcp.example/mcp' });
    expect(Object.keys(userToHeaders(oauthUser, 'p')).sort()).toEqual(identityHeaderSuffixes.map((suffix) => `p-${suffix}`).sort());
  });

  it('never puts CR, LF or a non-ASCII byte in a value', () => {
    const user = normalizeUserContext({ id: 'a\r\nb', name: 'x\ny', groups: ['\r'], authMethod: 'jwt' });
    for (const value of Object.values(userToHeaders(user, 'x-user'))) expect(value).toMatch(/^[\x21-\x7e]+$/);
  });
});

describe('headerAgreesWithUser', () => {
  const headers = userToHeaders(fullUser, 'p');

  it.each(identityHeaderSuffixes.map((suffix) => [suffix]))('agrees with the value userToHeaders wrote for %s', (suffix) => {
    expect(headerAgreesWithUser(suffix, headers[`p-${suffix}`]!, fullUser)).toBe(true);
  });

  it.each<[IdentityHeaderSuffix, string]>([
    ['id', 'José'],
    ['id', 'Jos%c3%a9'],
    ['id', 'someone-else'],
    ['email', 'JOSE@example.com'],
    ['full-name', 'José Ñúñez'],
    ['groups', '%C3%A9quipe-%F0%9F%9A%80,eng%2Cops'],
    ['groups', 'eng,ops,%C3%A9quipe-%F0%9F%9A%80'],
    ['groups', 'eng%2Cops'],
    ['teams', 'core,extra'],
    ['roles', 'admin'],
    ['admin', 'false'],
    ['admin', 'TRUE'],
    ['admin', '1'],
    ['auth-method', 'jwt'],
    ['service-account', 'agent%20one'],
    ['delegation-chain', 'agent-2,agent%20one'],
    ['delegation-chain', 'agent-2'],
  ])('disagrees when %s is %j', (suffix, value) => {
    expect(headerAgreesWithUser(suffix, value, fullUser)).toBe(false);
  });

  it.each<[IdentityHeaderSuffix, string]>([
    ['email', 'jose@example.com'],
    ['full-name', 'Jos%C3%A9'],
    ['groups', 'eng'],
    ['teams', 'core'],
    ['roles', 'admin'],
    ['service-account', 'agent-2'],
    ['delegation-chain', 'agent-2'],
    ['admin', 'true'],
  ])('disagrees when the user has no %s but the header says %j', (suffix, value) => {
    expect(headerAgreesWithUser(suffix, value, minimalUser)).toBe(false);
  });

  it('agrees that a user without admin rights is admin=false', () => {
    expect(headerAgreesWithUser('admin', 'false', minimalUser)).toBe(true);
  });
});

describe('headerValueAsUtf8', () => {
  it('reads UTF-8 bytes that Node decoded as Latin-1', () => {
    expect(headerValueAsUtf8(Buffer.from('José 🚀', 'utf8').toString('latin1'))).toBe('José 🚀');
  });

  it('returns ASCII unchanged and undefined for bytes that are not UTF-8', () => {
    expect(headerValueAsUtf8('plain-ascii')).toBe('plain-ascii');
    expect(headerValueAsUtf8(Buffer.from([0x4a, 0xe9]).toString('latin1'))).toBeUndefined();
  });
});
