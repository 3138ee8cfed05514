// Writes the shared test vectors of the wire format (docs/spec/wire-format-v1.md) to spec/vectors/.
//
// Run after `npm run build`: `node scripts/vectors.mjs`. The TypeScript implementation is the
// oracle for canonical JSON, binding digests, the header codec and the claim model (the outputs
// below are computed by it); the expected verdict of every full request is written here by hand,
// from the spec, and both test suites (packages/receiver/test/vectors.test.ts and python/tests)
// check their implementation against it. Keys and clock are fixed, so the files only change
// when a case changes (ES256 signatures are randomized: regenerating rewrites them, still valid).
import { createECDH, createHash, createHmac, createPrivateKey, createPublicKey, sign as cryptoSign } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync, deflateSync } from 'node:zlib';
import {
  canonicalJson,
  claimsToUser,
  contextforgeMetaUser,
  decodeHeaderList,
  decodeHeaderValue,
  encodeHeaderList,
  encodeHeaderValue,
  jsonBodyDigest,
  normalizeUserContext,
  rawBodyDigest,
  requestBodyDigest,
  sha256Base64url,
  userToClaims,
  userToHeaders,
} from '@mcp-identity/core/internal';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = join(root, 'spec/vectors');
mkdirSync(out, { recursive: true });

const write = (name, value) => writeFileSync(join(out, name), `${JSON.stringify(value, null, 2)}\n`);
const b64 = (buffer) => Buffer.from(buffer).toString('base64');
const b64url = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

// ---- canonical-json.json ---------------------------------------------------------------------

const canonicalInputs = [
  ['empty object', '{}'],
  ['key order by UTF-16 code units (not code points)', '{"\u{1F600}":1,"\uFB01":2,"a":3,"B":4,"":5,"é":6}'],
  ['nested objects and arrays, whitespace removed', ' { "b" : [ 1 , { "d" : true , "c" : null } ] , "a" : "x" } '],
  ['integer forms', '[0,-0,1,-1,10,100,1E2,1e+2,1.0,1.50,0.0]'],
  ['integers beyond 2^53 round to binary64', '[9007199254740991,9007199254740992,9007199254740993,18446744073709551616]'],
  ['exponent thresholds of ECMAScript number serialization', '[1e20,1e21,123456789012345678901,1e-6,1e-7,0.000001,0.0000001]'],
  ['shortest round-trip digits', '[0.1,0.2,0.30000000000000004,1.7976931348623157e308,5e-324,2.5e-8,123.456e5]'],
  ['negative exponents and signs', '[-1.5e-10,-0.0,-1e21,1.2345678901234567e-300]'],
  ['string escapes: control characters use \\u00xx except the short forms', '"\\u0000\\u0001\\b\\t\\n\\u000b\\f\\r\\u001f\\"\\\\/\\u007f"'],
  ['non-ASCII is written as is, escaped input or not', '"caf\\u00e9 \u00e9 \\ud83d\\ude80 \u{1F680} \\u2028"'],
  ['literals', '[true,false,null]'],
  ['deep nesting', '[[[[[[[[[[{"a":[[[[]]]]}]]]]]]]]]]'],
  ['a JSON-RPC request', '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"Zoë"}}}'],
];
const canonicalErrors = [
  ['a lone high surrogate', '"\\ud800"', 'no_canonical_form'],
  ['a lone low surrogate in a key', '{"\\udc00":1}', 'no_canonical_form'],
  ['a number beyond binary64', '[1e400]', 'no_canonical_form'],
  ['a negative number beyond binary64', '-1e309', 'no_canonical_form'],
  ['NaN is not JSON', '[NaN]', 'invalid_json'],
  ['Infinity is not JSON', 'Infinity', 'invalid_json'],
  ['a leading zero', '[01]', 'invalid_json'],
  ['a trailing comma', '[1,]', 'invalid_json'],
  ['single quotes', "{'a':1}", 'invalid_json'],
  ['a raw control character in a string', '"a\u0001b"', 'invalid_json'],
  ['a byte-order mark', '\uFEFF{}', 'invalid_json'],
];
write('canonical-json.json', {
  description:
    'RFC 8785 canonical JSON of a JSON text (spec section "Canonical JSON"). input is the JSON text; canonical is its canonical form; sha256 is SHA-256 of its UTF-8 bytes, base64url without padding. error cases have no canonical form.',
  cases: [
    ...canonicalInputs.map(([name, input]) => {
      const canonical = canonicalJson(JSON.parse(input));
      return { name, input, canonical, sha256: sha256Base64url(canonical) };
    }),
    ...canonicalErrors.map(([name, input, error]) => {
      let parsed;
      try {
        parsed = JSON.parse(input);
      } catch {
        if (error !== 'invalid_json') throw new Error(`${name}: expected ${error}`);
        return { name, input, error };
      }
      if (error !== 'no_canonical_form') throw new Error(`${name}: parsed`);
      let threw = false;
      try {
        canonicalJson(parsed);
      } catch {
        threw = true;
      }
      if (!threw) throw new Error(`${name}: expected no canonical form`);
      return { name, input, error };
    }),
  ],
});

// ---- binding.json ----------------------------------------------------------------------------

const rpc = (params, extra = {}) => JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params, ...extra });
const bindingCases = [
  { name: 'no body', method: 'GET', target: '/mcp', body: '' },
  { name: 'DELETE with a query', method: 'DELETE', target: '/mcp?session=a%20b&x=1', body: '' },
  { name: 'JSON body', method: 'POST', target: '/mcp', contentType: 'application/json', body: rpc({ name: 'echo' }) },
  {
    name: 'JSON body re-serialized with whitespace and other key order: same digest',
    method: 'POST',
    target: '/mcp',
    contentType: 'application/json',
    body: '{ "params": {"name": "echo"}, "method": "tools/call", "id": 1, "jsonrpc": "2.0" }',
  },
  {
    name: 'media type in upper case with parameters',
    method: 'POST',
    target: '/mcp',
    contentType: 'Application/JSON; charset=UTF-8',
    body: rpc({ name: 'echo' }),
  },
  {
    name: 'the _meta assertion member is left out, and the _meta it leaves empty',
    method: 'POST',
    target: '/mcp',
    contentType: 'application/json',
    body: rpc({ name: 'echo', _meta: { 'mcp-identity/assertion': 'any.token.here' } }),
  },
  {
    name: 'the _meta assertion member is left out; other _meta members stay',
    method: 'POST',
    target: '/mcp',
    contentType: 'application/json',
    body: rpc({ name: 'echo', _meta: { 'mcp-identity/assertion': 'x.y.z', 'mcp-identity/user': { id: 'a' }, progressToken: 7 } }),
  },
  {
    name: 'an empty _meta that held no assertion stays',
    method: 'POST',
    target: '/mcp',
    contentType: 'application/json',
    body: rpc({ name: 'echo', _meta: {} }),
  },
  {
    name: 'a differently spelled assertion key is not left out',
    method: 'POST',
    target: '/mcp',
    contentType: 'application/json',
    body: rpc({ name: 'echo', _meta: { 'MCP-Identity/Assertion': 'x.y.z' } }),
  },
  {
    name: 'result._meta is not touched',
    method: 'POST',
    target: '/mcp',
    contentType: 'application/json',
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, result: { _meta: { 'mcp-identity/assertion': 'x' } } }),
  },
  {
    name: 'a batch: the assertion left out of each message',
    method: 'POST',
    target: '/mcp',
    contentType: 'application/json',
    body: JSON.stringify([
      { jsonrpc: '2.0', id: 1, method: 'a', params: { _meta: { 'mcp-identity/assertion': 't' } } },
      { jsonrpc: '2.0', id: 2, result: {} },
      { jsonrpc: '2.0', method: 'b', params: { _meta: { 'mcp-identity/assertion': 't', k: 1 } } },
    ]),
  },
  {
    name: 'numbers: digested by value (binary64), not by lexeme',
    method: 'POST',
    target: '/mcp',
    contentType: 'application/json',
    body: '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"n","arguments":{"a":9007199254740993,"b":1.0,"c":1E2,"d":-0.0,"e":0.1}}}',
  },
  {
    name: 'numbers: the same values in other lexemes give the same digest',
    method: 'POST',
    target: '/mcp',
    contentType: 'application/json',
    body: rpc({ name: 'n', arguments: { a: 9007199254740992, b: 1, c: 100, d: 0, e: 0.1 } }).replace('"e":0.1', '"e":1e-1'),
  },
  {
    name: 'non-ASCII arguments',
    method: 'POST',
    target: '/mcp',
    contentType: 'application/json',
    body: rpc({ name: 'echo', arguments: { text: 'José 🚀 \u2028' } }),
  },
  {
    name: 'not JSON with a JSON media type: raw bytes',
    method: 'POST',
    target: '/mcp',
    contentType: 'application/json',
    body: '{"jsonrpc":',
  },
  {
    name: 'not UTF-8 with a JSON media type: raw bytes',
    method: 'POST',
    target: '/mcp',
    contentType: 'application/json',
    bodyBytes: Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]),
  },
  {
    name: 'no canonical form (lone surrogate): raw bytes',
    method: 'POST',
    target: '/mcp',
    contentType: 'application/json',
    body: '{"a":"\\ud800"}',
  },
  {
    name: 'no canonical form (number beyond binary64): raw bytes',
    method: 'POST',
    target: '/mcp',
    contentType: 'application/json',
    body: '{"a":1e400}',
  },
  { name: 'another media type: raw bytes', method: 'POST', target: '/upload', contentType: 'text/plain', body: '{"a": 1}' },
  {
    name: 'application/json-seq is not application/json: raw bytes',
    method: 'POST',
    target: '/mcp',
    contentType: 'application/json-seq',
    body: '{"a": 1}',
  },
  { name: 'no Content-Type: raw bytes', method: 'POST', target: '/mcp', body: '{"a": 1}' },
  {
    name: 'gzip is decoded before digesting',
    method: 'POST',
    target: '/mcp',
    contentType: 'application/json',
    contentEncoding: 'gzip',
    encode: gzipSync,
    body: rpc({ name: 'echo' }),
  },
  {
    name: 'x-gzip is gzip',
    method: 'POST',
    target: '/mcp',
    contentType: 'application/json',
    contentEncoding: 'x-gzip',
    encode: gzipSync,
    body: rpc({ name: 'echo' }),
  },
  {
    name: 'deflate (zlib format) is decoded before digesting',
    method: 'POST',
    target: '/mcp',
    contentType: 'application/json',
    contentEncoding: 'Deflate',
    encode: deflateSync,
    body: rpc({ name: 'echo' }),
  },
  {
    name: 'identity encoding',
    method: 'POST',
    target: '/mcp',
    contentType: 'application/json',
    contentEncoding: 'identity',
    body: rpc({ name: 'echo' }),
  },
  {
    name: 'br is refused',
    method: 'POST',
    target: '/mcp',
    contentType: 'application/json',
    contentEncoding: 'br',
    body: 'x',
    refusal: { status: 415, code: 'unsupported_encoding' },
  },
  {
    name: 'a list of codings is refused',
    method: 'POST',
    target: '/mcp',
    contentType: 'application/json',
    contentEncoding: 'gzip, identity',
    encode: gzipSync,
    body: '{}',
    refusal: { status: 415, code: 'unsupported_encoding' },
  },
  {
    name: 'corrupt gzip is refused',
    method: 'POST',
    target: '/mcp',
    contentType: 'application/json',
    contentEncoding: 'gzip',
    bodyBytes: Buffer.from('not gzip at all'),
    refusal: { status: 400, code: 'parse_error' },
  },
];
write('binding.json', {
  description:
    'Request binding (spec section "Request binding"): method, request target, Content-Type, Content-Encoding (null = absent) and the body bytes as received (base64) give the req claim, or a refusal.',
  cases: bindingCases.map((c) => {
    const plain = c.bodyBytes ?? Buffer.from(c.body, 'utf8');
    const wire = c.encode === undefined ? plain : c.encode(plain);
    const base = {
      name: c.name,
      method: c.method,
      target: c.target,
      content_type: c.contentType ?? null,
      content_encoding: c.contentEncoding ?? null,
      body_base64: b64(wire),
    };
    if (c.refusal !== undefined) return { ...base, refusal: c.refusal };
    return { ...base, req: { method: c.method, path: c.target, body_sha256: requestBodyDigest(c.contentType, plain) } };
  }),
});

// ---- header-codec.json -----------------------------------------------------------------------

const codecValues = [
  'alice',
  'José',
  'eng,ops',
  '100%',
  'a b',
  'tab\there',
  'line\r\nbreak',
  '🚀',
  'ü',
  '~!"#$&\'()*+-./:;<=>?@[\\]^_`{|}',
  '\u007f',
  '\u00a0',
];
const refusedSpellings = [
  '',
  'a%',
  'a%2',
  '%e9',
  '%zz',
  '%41',
  '%2c%2C',
  'a b',
  'tab\t',
  'Jos\u00e9',
  '%C3',
  '%FF',
  '%C3%28',
  '%ED%A0%80',
  '%25%',
];
const listCases = [['eng,ops', 'équipe'], ['a'], ['', 'b'].slice(1), ['x y', '100%', 'z']];
write('header-codec.json', {
  description:
    'The header codec (spec section "Header codec"). values: value <-> encoding, both ways. refused: encodings a decoder MUST refuse (never produced by the encoder). lists: values <-> list encoding. refused_lists: list encodings a decoder MUST refuse.',
  values: codecValues.map((value) => ({ value, encoded: encodeHeaderValue(value) })),
  refused: refusedSpellings.map((encoded) => {
    if (decodeHeaderValue(encoded) !== undefined) throw new Error(`codec accepts ${encoded}`);
    return encoded;
  }),
  lists: listCases.map((values) => ({ values, encoded: encodeHeaderList(values) })),
  refused_lists: ['a,,b', ',a', 'a,', 'a,%zz'].map((encoded) => {
    if (decodeHeaderList(encoded) !== undefined) throw new Error(`list codec accepts ${encoded}`);
    return encoded;
  }),
});

// ---- claims.json -----------------------------------------------------------------------------

const users = [
  ['the smallest user', { id: 'u1', authMethod: 'jwt' }],
  [
    'every field, non-ASCII, a comma in a group',
    {
      id: 'user-42',
      email: 'zoë@mail.test',
      name: 'Zoë Ñandú 🚀',
      groups: ['eng,ops', 'équipe'],
      teams: ['platform'],
      roles: ['reader', 'writer'],
      isAdmin: true,
      authMethod: 'sso',
      issuer: 'https://idp.test',
      attributes: { department: 'R&D', 'cost-center': '' },
    },
  ],
  [
    'delegation: three actors, earliest first',
    { id: 'alice', authMethod: 'api_key', delegationChain: ['assistant', 'mail-agent', 'reports-bot'] },
  ],
  ['a service account alone', { id: 'alice', authMethod: 'api_key', serviceAccount: 'reports-bot' }],
  [
    'extensions: an OAuth login with scopes, client and resource',
    {
      id: 'alice',
      authMethod: 'oauth',
      scopes: ['tickets:read', 'files:write'],
      clientId: 'mcp-inspector',
      resource: 'https://mcp.example.com/mcp',
    },
  ],
  ['extensions: an OAuth token without scopes (scope "")', { id: 'alice', authMethod: 'oauth', scopes: [], clientId: 'cli' }],
];
const userJson = (user) => JSON.parse(JSON.stringify(user));
const baseClaims = { sub: 'u1', auth_method: 'jwt' };
const claimRefusals = [
  ['no sub', { auth_method: 'jwt' }],
  ['an empty sub', { sub: '', auth_method: 'jwt' }],
  ['a numeric sub', { sub: 1, auth_method: 'jwt' }],
  ['no auth_method', { sub: 'u1' }],
  ['an auth_method with a space', { sub: 'u1', auth_method: 'j w t' }],
  ['an auth_method of 65 characters', { sub: 'u1', auth_method: 'a'.repeat(65) }],
  ['admin as a string', { ...baseClaims, admin: 'true' }],
  ['admin as 1', { ...baseClaims, admin: 1 }],
  ['groups as a string', { ...baseClaims, groups: 'eng' }],
  ['an empty group', { ...baseClaims, groups: [''] }],
  ['a numeric group', { ...baseClaims, groups: [1] }],
  ['257 roles', { ...baseClaims, roles: Array.from({ length: 257 }, (_, i) => `r${i}`) }],
  ['an email of 1025 characters', { ...baseClaims, email: 'e'.repeat(1025) }],
  ['an act without sub', { ...baseClaims, act: { act: { sub: 'x' } } }],
  ['an act as a string', { ...baseClaims, act: 'agent' }],
  ['an act of null', { ...baseClaims, act: null }],
  ['a nested act of null', { ...baseClaims, act: { sub: 'agent', act: null } }],
  [
    'an act nested 17 deep',
    {
      ...baseClaims,
      act: Array.from({ length: 17 }).reduce(
        (inner, _, i) => (inner === undefined ? { sub: `a${i}` } : { sub: `a${i}`, act: inner }),
        undefined,
      ),
    },
  ],
  ['attrs as an array', { ...baseClaims, attrs: ['a'] }],
  ['a numeric attribute', { ...baseClaims, attrs: { a: 1 } }],
  ['65 attributes', { ...baseClaims, attrs: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v'])) }],
  ['an attribute name of 129 characters', { ...baseClaims, attrs: { ['k'.repeat(129)]: 'v' } }],
  ['extensions: scope as an array', { ...baseClaims, scope: ['tickets:read'] }],
  ['extensions: scope null', { ...baseClaims, scope: null }],
  ['extensions: scope as a number', { ...baseClaims, scope: 1 }],
  ['extensions: a scope token with a double quote', { ...baseClaims, scope: 'read a"b' }],
  ['extensions: a scope token with a backslash', { ...baseClaims, scope: 'read a\\b' }],
  ['extensions: a scope token with a tab', { ...baseClaims, scope: 'read\twrite' }],
  ['extensions: a non-ASCII scope token', { ...baseClaims, scope: 'lire écrire' }],
  ['extensions: a scope token of 1025 characters', { ...baseClaims, scope: 's'.repeat(1025) }],
  ['extensions: 257 scopes', { ...baseClaims, scope: Array.from({ length: 257 }, (_, i) => `s${i}`).join(' ') }],
  ['extensions: a numeric client_id', { ...baseClaims, client_id: 42 }],
  ['extensions: a client_id of 1025 characters', { ...baseClaims, client_id: 'c'.repeat(1025) }],
  ['extensions: a resource as an object', { ...baseClaims, resource: { uri: 'https://mcp.example.com' } }],
  ['extensions: a resource with a lone surrogate', { ...baseClaims, resource: 'https://mcp.example.com/\ud800' }],
];
const claimsAccepted = [
  ['empty strings and null read as absent', { ...baseClaims, email: '', name: null, groups: null, idp: '' }],
  ['empty lists and an empty attrs read as absent', { ...baseClaims, groups: [], teams: [], roles: [], attrs: {} }],
  ['admin false', { ...baseClaims, admin: false }],
  ['unknown claims are ignored', { ...baseClaims, x_custom: 'x', extra: { a: 1 } }],
  [
    '16 actors',
    {
      ...baseClaims,
      act: Array.from({ length: 16 }).reduce(
        (inner, _, i) => (inner === undefined ? { sub: `a${i}` } : { sub: `a${i}`, act: inner }),
        undefined,
      ),
    },
  ],
  ['strings of 1024 characters', { ...baseClaims, name: 'n'.repeat(1024) }],
  ['extensions: scope split on spaces, runs of spaces and edges dropped', { ...baseClaims, scope: '  tickets:read   files:write ' }],
  ['extensions: a scope of spaces only is an empty list', { ...baseClaims, scope: '   ' }],
  [
    'extensions: scope tokens of every allowed character (RFC 6749 scope-token)',
    { ...baseClaims, scope: "!#$%&'()*+,-./ 09:;<=>?@ AZ[]^_` az{|}~" },
  ],
  ['extensions: 256 scopes', { ...baseClaims, scope: Array.from({ length: 256 }, (_, i) => `s${i}`).join(' ') }],
  ['extensions: an empty client_id and a null resource read as absent', { ...baseClaims, client_id: '', resource: null }],
  ['extensions: client_id and resource of 1024 characters', { ...baseClaims, client_id: 'c'.repeat(1024), resource: 'r'.repeat(1024) }],
];
write('claims.json', {
  description:
    'The claim model (spec sections "User claims", "The user object" and, for names starting "extensions:", "Extensions": scope, client_id, resource). users: user object -> claims the signer writes, and claims -> the same user object back. from_claims: claims -> user object. refused: claims a receiver MUST refuse with identity_invalid.',
  users: users.map(([name, input]) => {
    const user = normalizeUserContext(input);
    const claims = userJson(userToClaims(user));
    const back = claimsToUser(claims);
    if (canonicalJson(userJson(back)) !== canonicalJson(userJson(user))) throw new Error(`${name} does not round-trip`);
    return { name, user: userJson(user), claims, contextforge_meta_user: userJson(contextforgeMetaUser(user)) };
  }),
  from_claims: claimsAccepted.map(([name, claims]) => ({ name, claims, user: userJson(claimsToUser(claims)) })),
  refused: claimRefusals.map(([name, claims]) => {
    let threw = false;
    try {
      claimsToUser(claims);
    } catch (error) {
      if (error.code !== 'identity_invalid') throw error;
      threw = true;
    }
    if (!threw) throw new Error(`${name} accepted`);
    return { name, claims };
  }),
});

// ---- requests.json ---------------------------------------------------------------------------

const ISSUER = 'https://gateway.test';
const AUDIENCE = 'urn:mcp:files';
const CLOCK_MS = Date.UTC(2030, 0, 15, 12, 0, 0);
const NOW = CLOCK_MS / 1000;
// Not ASCII on purpose: HS256 keys with the UTF-8 bytes of the string.
const HS_SECRET = 'vectors: ünïcødé HS256 secret, 0123456789 ABCDEF';
const HS_SECRET_2 = 'vectors: second secret with a kid, 9876543210 ZYXW';

// Fixed key material: an Ed25519 seed and a P-256 scalar.
const edSeed = Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex');
const edPrivate = createPrivateKey({
  key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), edSeed]),
  format: 'der',
  type: 'pkcs8',
});
const edPublicJwk = createPublicKey(edPrivate).export({ format: 'jwk' });
const ecd = Buffer.from('c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721', 'hex');
const ecdh = createECDH('prime256v1');
ecdh.setPrivateKey(ecd);
const ecPoint = ecdh.getPublicKey();
const ecPublicJwk = {
  kty: 'EC',
  crv: 'P-256',
  x: ecPoint.subarray(1, 33).toString('base64url'),
  y: ecPoint.subarray(33).toString('base64url'),
};
const ecPrivate = createPrivateKey({ key: { ...ecPublicJwk, d: ecd.toString('base64url') }, format: 'jwk' });
const edOther = createPrivateKey({
  key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.alloc(32, 7)]),
  format: 'der',
  type: 'pkcs8',
});
const edOtherJwk = createPublicKey(edOther).export({ format: 'jwk' });

const keys = {
  secrets: [{ secret: HS_SECRET }, { secret: HS_SECRET_2, kid: 'hs-2' }],
  public_keys: [{ alg: 'EdDSA', jwk: { kty: 'OKP', crv: 'Ed25519', x: edPublicJwk.x }, kid: 'ed-1' }],
  jwks: {
    keys: [
      { ...ecPublicJwk, kid: 'p256-1', alg: 'ES256', use: 'sig' },
      { kty: 'OKP', crv: 'Ed25519', x: edOtherJwk.x, kid: 'ed-enc', use: 'enc' },
      { kty: 'OKP', crv: 'Ed25519', x: edOtherJwk.x, kid: 'ed-wrong-alg', alg: 'ES256' },
    ],
  },
};

function signToken(header, payload, key) {
  const input = `${b64url(header)}.${b64url(payload)}`;
  let signature;
  if (header.alg === 'HS256' || key.hs !== undefined) signature = createHmac('sha256', key.hs).update(input).digest();
  else if (key.ed !== undefined) signature = cryptoSign(null, Buffer.from(input), key.ed);
  else signature = cryptoSign('sha256', Buffer.from(input), { key: key.ec, dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
}
const HS = { hs: Buffer.from(HS_SECRET, 'utf8') };
const ED = { ed: edPrivate };
const EC = { ec: ecPrivate };

const USER = normalizeUserContext({
  id: 'user-42',
  email: 'zoë@mail.test',
  name: 'Zoë Ñandú 🚀',
  groups: ['eng,ops', 'équipe'],
  teams: ['platform'],
  roles: ['reader', 'writer'],
  authMethod: 'jwt',
  delegationChain: ['agent-1', 'svc-reporter'],
  issuer: 'https://idp.test',
  attributes: { department: 'R&D' },
});
const PLAIN_USER = normalizeUserContext({ id: 'bob', authMethod: 'basic' });
let jtiCounter = 0;
const nextJti = () => `vector-jti-${String(++jtiCounter).padStart(6, '0')}`;

function claimsOf({ user = USER, method = 'POST', target = '/mcp', digest, iat = NOW, ttl = 60, jti = nextJti() }) {
  return {
    v: 1,
    iss: ISSUER,
    aud: AUDIENCE,
    iat,
    exp: iat + ttl,
    jti,
    ...userToClaims(user),
    req: { method, path: target, body_sha256: digest },
  };
}
const HEADER = { alg: 'HS256', typ: 'user-context+jwt' };
const toolCall = (args = { path: '/docs/a.txt', note: 'José 🚀' }, id = 1) => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name: 'read_file', arguments: args },
});
const withMeta = (message, members) => ({ ...message, params: { ...message.params, _meta: { ...message.params?._meta, ...members } } });
const plainHeaders = (user) => Object.entries(userToHeaders(user, 'X-Forwarded-User')).map(([name, value]) => [name, value]);

const requests = [];
const digestOfJson = (value) => jsonBodyDigest(JSON.parse(JSON.stringify(value)));

/**
 * One request vector. `token` gets the claims (already bound to the body) and returns the token;
 * `carrier` is 'header', 'meta' or 'both'; `expect` is { user } or { status, code }.
 */
function add(name, decides, options) {
  const {
    method = 'POST',
    target = '/mcp',
    body,
    bodyText,
    bodyBytes,
    contentType = body === undefined && bodyText === undefined && bodyBytes === undefined ? undefined : 'application/json',
    contentEncoding,
    encode,
    carrier = 'header',
    user = USER,
    claims: claimOverrides = {},
    header = HEADER,
    key = HS,
    tokenOverride,
    withPlain = carrier !== 'meta',
    extraHeaders = [],
    headersBefore = [],
    metaMembers = {},
    seenJtis,
    digestOverride,
    receiverOptions,
    expect,
  } = options;
  // The body as the gateway would forward it, before the assertion goes in.
  let digest;
  let bytesFor;
  if (body !== undefined) {
    const shape =
      carrier === 'header' ? addMeta(body, metaMembers, true) : addMeta(body, { ...metaMembers, 'mcp-identity/assertion': 'placeholder' });
    digest = digestOfJson(shape);
    bytesFor = (token) =>
      Buffer.from(
        JSON.stringify(
          carrier === 'header' ? addMeta(body, metaMembers, true) : addMeta(body, { ...metaMembers, 'mcp-identity/assertion': token }),
        ),
      );
  } else {
    const raw = bodyBytes ?? Buffer.from(bodyText ?? '', 'utf8');
    digest = requestBodyDigest(contentType, raw);
    bytesFor = () => raw;
  }
  const claims = { ...claimsOf({ user, method, target, digest: digestOverride ?? digest }), ...claimOverrides };
  for (const [k, v] of Object.entries(claims)) if (v === undefined) Reflect.deleteProperty(claims, k);
  const token = tokenOverride ?? signToken(header, claims, key);
  let wire = bytesFor(token);
  if (encode !== undefined) wire = encode(wire);
  const headers = [...headersBefore];
  if (carrier !== 'meta') headers.push(['X-Forwarded-User-Assertion', token]);
  if (withPlain) headers.push(...plainHeaders(user));
  if (contentType !== undefined) headers.push(['Content-Type', contentType]);
  if (contentEncoding !== undefined) headers.push(['Content-Encoding', contentEncoding]);
  headers.push(...extraHeaders);
  requests.push({
    name,
    decides,
    method,
    target,
    headers,
    body_base64: b64(wire),
    ...(seenJtis === undefined ? {} : { seen_jtis: seenJtis }),
    ...(receiverOptions === undefined ? {} : { options: receiverOptions }),
    expect: 'user' in expect ? { user: userJson(expect.user) } : expect,
  });
}
function addMeta(body, members, onlyIfAny = false) {
  if (onlyIfAny && Object.keys(members).length === 0) return body;
  const each = (m) => ('method' in m ? withMeta(m, members) : m);
  return Array.isArray(body) ? body.map(each) : each(body);
}

const refuse = (status, code) => ({ status, code });
const invalid = refuse(401, 'identity_invalid');

// Acceptances.
add('HS256 in the header with every plain header, non-ASCII user and arguments', ['14'], { body: toolCall(), expect: { user: USER } });
add('EdDSA public key by kid, assertion and user in _meta only', [], {
  body: toolCall(),
  carrier: 'meta',
  header: { alg: 'EdDSA', kid: 'ed-1', typ: 'user-context+jwt' },
  key: ED,
  metaMembers: { 'mcp-identity/user': userJson(USER) },
  expect: { user: USER },
});
add('ES256 from the JWKS, a GET without body', [], {
  method: 'GET',
  header: { alg: 'ES256', kid: 'p256-1', typ: 'user-context+jwt' },
  key: EC,
  expect: { user: USER },
});
add('ES256 from the JWKS, no kid: every JWKS key of the algorithm is tried', [], {
  method: 'DELETE',
  target: '/mcp?x=1',
  header: { alg: 'ES256', typ: 'user-context+jwt' },
  key: EC,
  expect: { user: USER },
});
add('HS256 secret chosen by kid', [], {
  body: toolCall(),
  header: { alg: 'HS256', kid: 'hs-2', typ: 'user-context+jwt' },
  key: { hs: Buffer.from(HS_SECRET_2, 'utf8') },
  expect: { user: USER },
});
add('header and _meta carry the same assertion (both carriers), in a batch with a client response', [], {
  body: [
    { jsonrpc: '2.0', id: 9, result: {} },
    toolCall(),
    { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 1, progress: 1 } },
  ],
  carrier: 'both',
  metaMembers: { 'mcp-identity/user': userJson(USER) },
  expect: { user: USER },
});
add('typ compared as a media type: case-insensitive, application/ optional', ['1'], {
  body: toolCall(),
  header: { alg: 'HS256', typ: 'Application/User-Context+JWT' },
  expect: { user: USER },
});
add('gzip on the hop is decoded before digesting', ['10'], {
  body: toolCall(),
  contentEncoding: 'gzip',
  encode: gzipSync,
  expect: { user: USER },
});
add('integers beyond 2^53 are digested as binary64: a body bound to 9007199254740993 ...', ['16'], {
  bodyText: '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"n","arguments":{"big":9007199254740993}}}',
  expect: { user: USER },
});
{
  // ... verifies with the lexeme 9007199254740992: both are the same binary64 value.
  const signedText = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"n","arguments":{"big":9007199254740993}}}';
  add('... and the same assertion verifies a body with 9007199254740992 (same binary64 value)', ['16'], {
    bodyText: signedText.replace('93}', '92}'),
    digestOverride: requestBodyDigest('application/json', Buffer.from(signedText)),
    expect: { user: USER },
  });
}
add('a JSON media type with a body that is not JSON is bound to its raw bytes', ['9'], {
  bodyText: '{"jsonrpc": "2.0", "method": ',
  expect: { user: USER },
});
add('a JSON body without canonical form (1e400) is bound to its raw bytes', ['9', '16'], {
  bodyText: '{"jsonrpc":"2.0","id":1,"method":"x","params":{"n":1e400}}',
  expect: { user: USER },
});
add('another media type is bound to its raw bytes', [], {
  target: '/upload',
  bodyText: 'plain text body',
  contentType: 'text/plain; charset=utf-8',
  expect: { user: USER },
});
add('iat and exp written as 1894708800.0 are integers by value', ['3'], {
  bodyText: '',
  method: 'GET',
  tokenOverride: (() => {
    const claims = claimsOf({ method: 'GET', digest: rawBodyDigest(Buffer.alloc(0)) });
    const json = JSON.stringify(claims)
      .replace(`"iat":${NOW}`, `"iat":${NOW}.0`)
      .replace(`"exp":${NOW + 60}`, `"exp":${NOW + 60}.0`);
    const input = `${b64url(HEADER)}.${Buffer.from(json).toString('base64url')}`;
    return `${input}.${createHmac('sha256', HS.hs).update(input).digest('base64url')}`;
  })(),
  expect: { user: USER },
});
add('an nbf in the past is accepted', ['5'], { body: toolCall(), claims: { nbf: NOW - 10 }, expect: { user: USER } });
add('an nbf within the clock tolerance is accepted', ['5'], { body: toolCall(), claims: { nbf: NOW + 5 }, expect: { user: USER } });
add('a kid of every allowed character class', ['6'], {
  body: toolCall(),
  header: { alg: 'HS256', kid: 'Az09_-.:k', typ: 'user-context+jwt' },
  expect: { user: USER },
});
add('the ContextForge _meta.user, when present, equals the projection of the user', [], {
  body: toolCall(),
  metaMembers: { user: userJson(contextforgeMetaUser(USER)) },
  expect: { user: USER },
});
add('a token at the end of the tolerance after exp (exp + 5 s - 1 ms is not reached: now = exp + 4)', [], {
  body: toolCall(),
  claims: { iat: NOW - 64, exp: NOW - 4 },
  expect: { user: USER },
});
add('a user without optional fields, with no plain headers', [], {
  body: toolCall(),
  user: PLAIN_USER,
  withPlain: false,
  expect: { user: PLAIN_USER },
});
add('unrelated headers, and a header that only resembles the prefix, are ignored', [], {
  body: toolCall(),
  extraHeaders: [
    ['X-Forwarded-For', '10.0.0.1'],
    ['X-Forwarded', 'x'],
  ],
  expect: { user: USER },
});

// Refusals, in the order of the checks.
add('1a. a repeated identity header', ['13'], {
  body: toolCall(),
  extraHeaders: [['X-Forwarded-User-Id', 'user-42']],
  expect: refuse(401, 'identity_invalid'),
});
add('1b. an identity header spelled with underscores', [], {
  body: toolCall(),
  withPlain: false,
  extraHeaders: [['X_Forwarded_User_Id', 'user-42']],
  expect: refuse(401, 'identity_mismatch'),
});
add('1c. an unknown header under the prefix', [], {
  body: toolCall(),
  extraHeaders: [['X-Forwarded-User-Is-Admin', 'true']],
  expect: refuse(401, 'identity_mismatch'),
});
add('1d. a name that only extends the prefix is under it', [], {
  body: toolCall(),
  extraHeaders: [['X-Forwarded-Users', 'x']],
  expect: refuse(401, 'identity_mismatch'),
});
add('1e. order: the first offending header decides (underscore before repeat)', ['8'], {
  body: toolCall(),
  headersBefore: [['x_forwarded_user_roles', 'admin']],
  extraHeaders: [['X-Forwarded-User-Id', 'user-42']],
  expect: refuse(401, 'identity_mismatch'),
});
add('2a. a body over the limit', [], { body: toolCall({ text: 'x'.repeat(40000) }), expect: refuse(413, 'body_too_large') });
add('2b. a decoded body over the limit', [], {
  body: toolCall({ text: 'x'.repeat(40000) }),
  contentEncoding: 'gzip',
  encode: gzipSync,
  expect: refuse(413, 'body_too_large'),
});
add('2c. an unsupported Content-Encoding', [], { body: toolCall(), contentEncoding: 'br', expect: refuse(415, 'unsupported_encoding') });
add('2d. corrupt gzip', [], { bodyBytes: Buffer.from('not gzip'), contentEncoding: 'gzip', expect: refuse(400, 'parse_error') });
add('2e. order: header checks come before the body', ['8'], {
  body: toolCall(),
  contentEncoding: 'br',
  extraHeaders: [['X-Forwarded-User-Is-Admin', 'true']],
  expect: refuse(401, 'identity_mismatch'),
});
add('3a. a _meta assertion that is not a string', [], {
  body: toolCall(),
  carrier: 'header',
  metaMembers: { 'mcp-identity/assertion': 42 },
  expect: invalid,
});
add('3b. two messages carrying different assertions', [], {
  body: [toolCall(), toolCall(undefined, 2)],
  carrier: 'meta',
  tokenOverride: undefined,
  expect: { user: USER },
});
// 3b above is the control (one assertion in both messages); the refusal replaces one of them.
{
  const control = requests[requests.length - 1];
  const body = JSON.parse(Buffer.from(control.body_base64, 'base64').toString('utf8'));
  body[1].params._meta['mcp-identity/assertion'] = `${body[1].params._meta['mcp-identity/assertion']}x`;
  requests.push({
    ...control,
    name: '3b. two messages carrying different assertions',
    decides: [],
    body_base64: b64(Buffer.from(JSON.stringify(body))),
    expect: refuse(401, 'identity_mismatch'),
  });
  control.name = '3b (control). two messages carrying the same assertion';
}
add('3c. header and _meta carrying different assertions', [], {
  body: toolCall(),
  carrier: 'meta',
  extraHeaders: [['X-Forwarded-User-Assertion', signToken(HEADER, claimsOf({ digest: 'x' }), HS)]],
  expect: refuse(401, 'identity_mismatch'),
});
add('4a. no assertion anywhere', [], {
  body: toolCall(),
  carrier: 'meta',
  tokenOverride: 'unused',
  metaMembers: {},
  expect: refuse(401, 'identity_missing'),
});
{
  // 4a: a body without any _meta assertion: strip it from the vector.
  const last = requests[requests.length - 1];
  last.body_base64 = b64(Buffer.from(JSON.stringify(toolCall())));
}
add('4b. a body of client responses only, without the header (a gateway with carriers [meta] sends the header then)', ['17'], {
  body: { jsonrpc: '2.0', id: 3, result: { content: [] } },
  carrier: 'meta',
  expect: refuse(401, 'identity_missing'),
});
add('4c. plain headers alone are no identity', [], {
  body: toolCall(),
  carrier: 'meta',
  tokenOverride: 'unused',
  withPlain: true,
  expect: refuse(401, 'identity_missing'),
});
{
  const last = requests[requests.length - 1];
  last.body_base64 = b64(Buffer.from(JSON.stringify(toolCall())));
}
const parseCases = [
  ['5a. an empty assertion header', ''],
  ['5b. two segments', 'eyJhbGciOiJIUzI1NiJ9.e30'],
  ['5c. four segments', 'a.b.c.d'],
  ['5d. a header that is not base64url', `${'eyJ+'}.e30.AAAA`],
  ['5e. a header that is not JSON', `${b64url('not json')}.e30.AAAA`],
  ['5f. a header that is an array', `${b64url([])}.e30.AAAA`],
  ['5g. a jku header parameter', signToken({ ...HEADER, jku: 'https://evil.test/jwks' }, claimsOf({ digest: 'x' }), HS)],
  ['5h. alg none', signToken({ alg: 'none', typ: 'user-context+jwt' }, claimsOf({ digest: 'x' }), HS)],
  ['5i. alg HS512', signToken({ alg: 'HS512', typ: 'user-context+jwt' }, claimsOf({ digest: 'x' }), HS)],
  ['5j. typ JWT', signToken({ alg: 'HS256', typ: 'JWT' }, claimsOf({ digest: 'x' }), HS)],
  ['5k. no typ', signToken({ alg: 'HS256' }, claimsOf({ digest: 'x' }), HS)],
  ['5l. a kid with a path', signToken({ ...HEADER, kid: '../keys/a' }, claimsOf({ digest: 'x' }), HS)],
  ['5m. a kid with a slash', signToken({ ...HEADER, kid: 'a/b' }, claimsOf({ digest: 'x' }), HS)],
  ['5n. a kid of 129 characters', signToken({ ...HEADER, kid: 'k'.repeat(129) }, claimsOf({ digest: 'x' }), HS)],
  ['5o. a payload that is not JSON', `${b64url(HEADER)}.${b64url('{')}.AAAA`],
  ['5p. a payload that is an array', `${b64url(HEADER)}.${b64url([1])}.AAAA`],
  [
    '5q. a signature with non-canonical base64url (stray bits)',
    (() => {
      const t = signToken(HEADER, claimsOf({ digest: 'x' }), HS);
      const last = t.at(-1);
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      return t.slice(0, -1) + alphabet[(alphabet.indexOf(last) & ~3) | ((alphabet.indexOf(last) & 3) ^ 1)];
    })(),
  ],
  ['5r. a token over 16384 characters', signToken(HEADER, { ...claimsOf({ digest: 'x' }), pad: 'p'.repeat(16400) }, HS)],
  ['5t. a payload that is not UTF-8', `${b64url(HEADER)}.${Buffer.from('{"iss":"\xff"}', 'latin1').toString('base64url')}.AAAA`],
  ['5s. padding characters', `${signToken(HEADER, claimsOf({ digest: 'x' }), HS)}=`],
];
for (const [name, token] of parseCases) {
  // An HTTP server may refuse a header line over 16 KiB before any receiver sees it: the long token travels in _meta.
  const carrier = token.length > 16384 ? 'meta' : 'header';
  add(name, name.includes('kid') ? ['6'] : name.includes('typ') ? ['1'] : [], {
    body: toolCall(),
    tokenOverride: token,
    carrier,
    expect: invalid,
  });
}
add('6a. another issuer', [], { body: toolCall(), claims: { iss: 'https://evil.test' }, expect: refuse(401, 'identity_issuer') });
add('6b. order: issuer before signature', ['8'], {
  body: toolCall(),
  claims: { iss: 'https://evil.test' },
  key: { hs: Buffer.from('a wrong secret of enough length 123456') },
  expect: refuse(401, 'identity_issuer'),
});
add('7a. another audience', [], { body: toolCall(), claims: { aud: 'urn:mcp:other' }, expect: refuse(401, 'identity_audience') });
add('7b. an audience array holding this audience', ['2'], {
  body: toolCall(),
  claims: { aud: [AUDIENCE] },
  expect: refuse(401, 'identity_audience'),
});
add('7c. order: audience before signature', ['8'], {
  body: toolCall(),
  claims: { aud: 'urn:mcp:other' },
  key: { hs: Buffer.from('a wrong secret of enough length 123456') },
  expect: refuse(401, 'identity_audience'),
});
add('8a. an unknown kid (no JWKS key, no public key)', [], {
  body: toolCall(),
  header: { alg: 'EdDSA', kid: 'unknown', typ: 'user-context+jwt' },
  key: ED,
  expect: invalid,
});
add('8b. a JWKS key with use "enc" is ignored', ['15'], {
  body: toolCall(),
  header: { alg: 'EdDSA', kid: 'ed-enc', typ: 'user-context+jwt' },
  key: { ed: edOther },
  expect: invalid,
});
add('8c. a JWKS key whose alg disagrees with its curve is ignored', [], {
  body: toolCall(),
  header: { alg: 'EdDSA', kid: 'ed-wrong-alg', typ: 'user-context+jwt' },
  key: { ed: edOther },
  expect: invalid,
});
add('8d. a wrong signature', [], { body: toolCall(), key: { hs: Buffer.from('a wrong secret of enough length 123456') }, expect: invalid });
add('8e. the HS256 secret as Latin-1 bytes instead of UTF-8', ['14'], {
  body: toolCall(),
  key: { hs: Buffer.from(HS_SECRET, 'latin1') },
  expect: invalid,
});
add('8f. an HS256 token MACed with the Ed25519 public key', [], {
  body: toolCall(),
  header: { alg: 'HS256', kid: 'ed-1', typ: 'user-context+jwt' },
  key: { hs: Buffer.from(JSON.stringify(keys.public_keys[0].jwk)) },
  expect: invalid,
});
add('8g. an EdDSA token signed by a key nobody configured, with a configured kid', [], {
  body: toolCall(),
  header: { alg: 'EdDSA', kid: 'ed-1', typ: 'user-context+jwt' },
  key: { ed: edOther },
  expect: invalid,
});
add('9a. no v claim', [], { body: toolCall(), claims: { v: undefined }, expect: invalid });
add('9b. v 2', [], { body: toolCall(), claims: { v: 2 }, expect: invalid });
add('9c. v "1"', [], { body: toolCall(), claims: { v: '1' }, expect: invalid });
add('9d. order: version before expiry', ['8'], { body: toolCall(), claims: { v: 2, iat: NOW - 3600, exp: NOW - 3540 }, expect: invalid });
add('10a. a fractional iat', ['3'], { body: toolCall(), claims: { iat: NOW + 0.5 }, expect: invalid });
add('10b. a string exp', ['3'], { body: toolCall(), claims: { exp: String(NOW + 60) }, expect: invalid });
add('10c. a negative iat', ['3'], { body: toolCall(), claims: { iat: -1, exp: 59 }, expect: invalid });
add('10d. an exp beyond 2^53', ['3'], { body: toolCall(), claims: { exp: 2 ** 53 }, expect: invalid });
add('11. iat in the future beyond the tolerance', [], { body: toolCall(), claims: { iat: NOW + 6, exp: NOW + 66 }, expect: invalid });
add('12a. a lifetime over 600 s', [], { body: toolCall(), claims: { exp: NOW + 601 }, expect: invalid });
add('12b. exp equal to iat', [], { body: toolCall(), claims: { exp: NOW }, expect: invalid });
add('13a. expired (now = exp + tolerance)', [], {
  body: toolCall(),
  claims: { iat: NOW - 65, exp: NOW - 5 },
  expect: refuse(401, 'identity_expired'),
});
add('13b. order: expiry before jti', ['8'], {
  body: toolCall(),
  claims: { iat: NOW - 65, exp: NOW - 5, jti: 'short' },
  expect: refuse(401, 'identity_expired'),
});
add('14a. an nbf beyond the tolerance', ['5'], { body: toolCall(), claims: { nbf: NOW + 6 }, expect: invalid });
add('14b. an nbf that is not an integer', ['5'], { body: toolCall(), claims: { nbf: 'soon' }, expect: invalid });
add('15a. a jti of 15 characters', ['4'], { body: toolCall(), claims: { jti: 'abcdefghijklmno' }, expect: invalid });
add('15b. a jti with a dot', ['4'], { body: toolCall(), claims: { jti: 'abcdefghijklmnop.q' }, expect: invalid });
add('15c. a jti of 129 characters', ['4'], { body: toolCall(), claims: { jti: 'j'.repeat(129) }, expect: invalid });
add('15d. a jti of 128 characters is accepted', ['4'], { body: toolCall(), claims: { jti: 'J'.repeat(128) }, expect: { user: USER } });
add('16a. admin that is not a boolean', [], { body: toolCall(), claims: { admin: 'yes' }, withPlain: false, expect: invalid });
add('16b. a malformed act', [], { body: toolCall(), claims: { act: { act: { sub: 'x' } } }, withPlain: false, expect: invalid });
add('17a. no req claim', ['7'], { body: toolCall(), claims: { req: undefined }, expect: invalid });
add('17b. req without body_sha256', ['7'], { body: toolCall(), claims: { req: { method: 'POST', path: '/mcp' } }, expect: invalid });
add('18a. another method', [], {
  body: toolCall(),
  claims: { req: { method: 'PUT', path: '/mcp', body_sha256: digestOfJson(toolCall()) } },
  expect: refuse(401, 'identity_binding'),
});
add('18b. another path', [], {
  body: toolCall(),
  target: '/mcp?x=1',
  claims: { req: { method: 'POST', path: '/mcp', body_sha256: digestOfJson(toolCall()) } },
  expect: refuse(401, 'identity_binding'),
});
add('18c. another body', [], {
  body: toolCall({ path: '/etc/passwd' }),
  digestOverride: digestOfJson(toolCall()),
  expect: refuse(401, 'identity_binding'),
});
add('18d. a gzip body bound to its compressed bytes', ['10'], {
  bodyBytes: gzipSync(Buffer.from(JSON.stringify(toolCall()))),
  contentEncoding: 'gzip',
  digestOverride: rawBodyDigest(gzipSync(Buffer.from(JSON.stringify(toolCall())))),
  expect: refuse(401, 'identity_binding'),
});
{
  // 18d: the body must be the same gzip bytes the digest was computed over.
  const last = requests[requests.length - 1];
  const gz = gzipSync(Buffer.from(JSON.stringify(toolCall())));
  const claims = claimsOf({ digest: rawBodyDigest(gz) });
  last.body_base64 = b64(gz);
  last.headers = last.headers.map(([n, v]) => (n === 'X-Forwarded-User-Assertion' ? [n, signToken(HEADER, claims, HS)] : [n, v]));
}
add('18e. a path that differs only in case', [], {
  body: toolCall(),
  target: '/MCP',
  claims: { req: { method: 'POST', path: '/mcp', body_sha256: digestOfJson(toolCall()) } },
  expect: refuse(401, 'identity_binding'),
});
add('18f. order: binding before plain headers', ['8'], {
  body: toolCall({ path: '/etc/passwd' }),
  digestOverride: digestOfJson(toolCall()),
  withPlain: false,
  extraHeaders: [['X-Forwarded-User-Admin', 'true']],
  expect: refuse(401, 'identity_binding'),
});
add('19a. a plain header that disagrees', [], {
  body: toolCall(),
  withPlain: false,
  extraHeaders: [['X-Forwarded-User-Admin', 'true']],
  expect: refuse(401, 'identity_mismatch'),
});
add('19b. a plain header in another (non-canonical) spelling', [], {
  body: toolCall(),
  withPlain: false,
  extraHeaders: [['X-Forwarded-User-Email', 'zoë@mail.test']],
  expect: refuse(401, 'identity_mismatch'),
});
add('19c. a plain header for a field the user does not have', [], {
  body: toolCall(),
  user: PLAIN_USER,
  withPlain: false,
  extraHeaders: [['X-Forwarded-User-Email', 'bob@example.com']],
  expect: refuse(401, 'identity_mismatch'),
});
add('20a. a _meta user that disagrees', [], {
  body: toolCall(),
  metaMembers: { 'mcp-identity/user': { ...userJson(USER), isAdmin: true } },
  expect: refuse(401, 'identity_mismatch'),
});
add('20b. a _meta user that only normalizes to the user (empty lists left out)', ['12'], {
  body: toolCall(),
  user: PLAIN_USER,
  metaMembers: { 'mcp-identity/user': { id: 'bob', authMethod: 'basic' } },
  expect: refuse(401, 'identity_mismatch'),
});
add('20c. the exact _meta user is accepted', ['12'], {
  body: toolCall(),
  user: PLAIN_USER,
  metaMembers: { 'mcp-identity/user': userJson(PLAIN_USER) },
  expect: { user: PLAIN_USER },
});
add('21a. another mcp-identity/ key in _meta', ['11'], {
  body: toolCall(),
  metaMembers: { 'mcp-identity/roles': ['admin'] },
  expect: refuse(401, 'identity_mismatch'),
});
add('21b. an identity key spelled in upper case', ['11'], {
  body: toolCall(),
  metaMembers: { 'MCP-Identity/User': userJson(USER) },
  expect: refuse(401, 'identity_mismatch'),
});
add('21c. an identity key in result._meta', ['11'], {
  body: [toolCall(), { jsonrpc: '2.0', id: 8, result: { _meta: { 'mcp-identity/user': { id: 'x' } } } }],
  expect: refuse(401, 'identity_mismatch'),
});
add('22. a ContextForge _meta.user that disagrees', [], {
  body: toolCall(),
  metaMembers: { user: { ...userJson(contextforgeMetaUser(USER)), is_admin: true } },
  expect: refuse(401, 'identity_mismatch'),
});
add('23. a replayed jti', [], {
  body: toolCall(),
  claims: { jti: 'already-seen-jti-0001' },
  seenJtis: ['already-seen-jti-0001'],
  expect: refuse(401, 'identity_replayed'),
});
add('23 (control). another jti seen before', [], {
  body: toolCall(),
  claims: { jti: 'a-fresh-jti-00000001' },
  seenJtis: ['already-seen-jti-0001'],
  expect: { user: USER },
});

// Check 2b (MCP protocol 2026-07-28 requests only): the MCP headers must agree with the body, and
// the body be one request or notification. Added last so the cases above keep their jtis.
const MODERN = '2026-07-28';
const modernCall = (name = 'read_file', id = 1) =>
  withMeta(
    { ...toolCall(undefined, id), params: { ...toolCall(undefined, id).params, name } },
    { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': {} },
  );
const mcpHeaders = (method, name) => [
  ['MCP-Protocol-Version', MODERN],
  ['Mcp-Method', method],
  ...(name === undefined ? [] : [['Mcp-Name', name]]),
];
add('2b-1. 2026-07-28: MCP headers that agree with the body are accepted', [], {
  body: modernCall(),
  extraHeaders: mcpHeaders('tools/call', 'read_file'),
  expect: { user: USER },
});
add('2b-2. 2026-07-28: an Mcp-Method that disagrees with the body', [], {
  body: modernCall(),
  extraHeaders: mcpHeaders('tools/list', 'read_file'),
  expect: refuse(400, 'mcp_header_mismatch'),
});
add('2b-3. 2026-07-28: an Mcp-Name that disagrees with the body', [], {
  body: modernCall(),
  extraHeaders: mcpHeaders('tools/call', 'delete_file'),
  expect: refuse(400, 'mcp_header_mismatch'),
});
add('2b-4. 2026-07-28: an MCP-Protocol-Version header that disagrees with _meta', [], {
  body: modernCall(),
  extraHeaders: [
    ['MCP-Protocol-Version', '2025-11-25'],
    ['Mcp-Method', 'tools/call'],
    ['Mcp-Name', 'read_file'],
  ],
  expect: refuse(400, 'mcp_header_mismatch'),
});
add('2b-5. 2026-07-28: an Mcp-Name missing', [], {
  body: modernCall(),
  extraHeaders: mcpHeaders('tools/call'),
  expect: refuse(400, 'mcp_header_mismatch'),
});
add('2b-6. 2026-07-28: a batch is refused', [], {
  body: [modernCall('read_file', 1), modernCall('read_file', 2)],
  extraHeaders: mcpHeaders('tools/call', 'read_file'),
  expect: refuse(400, 'mcp_message_refused'),
});
add('2b-7. an earlier revision: MCP headers that disagree are not checked', [], {
  body: toolCall(),
  extraHeaders: [
    ['Mcp-Method', 'tools/list'],
    ['Mcp-Name', 'something_else'],
  ],
  expect: { user: USER },
});
add('2b-8. 2026-07-28: Mcp-Param headers that agree with the tool arguments (one in the Base64 sentinel)', [], {
  body: modernCall(),
  extraHeaders: [
    ...mcpHeaders('tools/call', 'read_file'),
    ['Mcp-Param-Path', '/docs/a.txt'],
    ['Mcp-Param-Note', `=?base64?${Buffer.from('José 🚀').toString('base64')}?=`],
  ],
  expect: { user: USER },
});
add('2b-9. 2026-07-28: an Mcp-Param header that disagrees with the tool arguments', [], {
  body: modernCall(),
  extraHeaders: [...mcpHeaders('tools/call', 'read_file'), ['Mcp-Param-Path', '/etc/passwd']],
  expect: refuse(400, 'mcp_header_mismatch'),
});

// Extensions (spec section "Extensions"): the OAuth claims scope, client_id and resource, read into
// scopes, clientId and resource, with their plain headers; and the delegated token (dtk).
const OAUTH_USER = normalizeUserContext({
  id: 'alice',
  email: 'alice@example.com',
  authMethod: 'oauth',
  scopes: ['tickets:read', 'files:write'],
  clientId: 'mcp-inspector',
  resource: 'https://mcp.example.com/mcp',
});
const SCOPELESS_USER = normalizeUserContext({ id: 'alice', authMethod: 'oauth', scopes: [], clientId: 'mcp-inspector' });
for (const user of [OAUTH_USER, SCOPELESS_USER]) {
  if (canonicalJson(userJson(claimsToUser(userJson(userToClaims(user))))) !== canonicalJson(userJson(user))) {
    throw new Error(`${user.id} does not round-trip`);
  }
}
add('ext-1. an OAuth user: scope, client_id and resource, with every plain header', [], {
  body: toolCall(),
  user: OAUTH_USER,
  expect: { user: OAUTH_USER },
});
add('ext-2. an OAuth user, assertion and user in _meta only', [], {
  body: toolCall(),
  user: OAUTH_USER,
  carrier: 'meta',
  metaMembers: { 'mcp-identity/user': userJson(OAUTH_USER) },
  expect: { user: OAUTH_USER },
});
add('ext-3. an empty scope claim: scopes [] and no -Scopes header', [], {
  body: toolCall(),
  user: SCOPELESS_USER,
  expect: { user: SCOPELESS_USER },
});
add('ext-4. a -Scopes header that disagrees (order changed)', [], {
  body: toolCall(),
  user: OAUTH_USER,
  withPlain: false,
  extraHeaders: [['X-Forwarded-User-Scopes', 'files:write,tickets:read']],
  expect: refuse(401, 'identity_mismatch'),
});
add('ext-5. a -Scopes header for a token without scopes', [], {
  body: toolCall(),
  user: SCOPELESS_USER,
  withPlain: false,
  extraHeaders: [['X-Forwarded-User-Scopes', 'tickets:read']],
  expect: refuse(401, 'identity_mismatch'),
});
add('ext-6. a -Client-Id header that disagrees', [], {
  body: toolCall(),
  user: OAUTH_USER,
  withPlain: false,
  extraHeaders: [['X-Forwarded-User-Client-Id', 'another-client']],
  expect: refuse(401, 'identity_mismatch'),
});
add('ext-7. a -Resource header for a user without a resource', [], {
  body: toolCall(),
  withPlain: false,
  extraHeaders: [['X-Forwarded-User-Resource', 'https://mcp.example.com/mcp']],
  expect: refuse(401, 'identity_mismatch'),
});
add('ext-8. a -Client-Id header in another (non-canonical) spelling', [], {
  body: toolCall(),
  user: normalizeUserContext({ id: 'alice', authMethod: 'oauth', clientId: 'client app' }),
  withPlain: false,
  extraHeaders: [['X-Forwarded-User-Client-Id', 'client+app']],
  expect: refuse(401, 'identity_mismatch'),
});
add('ext-9. a scope claim that is not scope tokens', [], {
  body: toolCall(),
  user: PLAIN_USER,
  claims: { scope: 'read "all"' },
  withPlain: false,
  expect: invalid,
});

const DELEGATED_OPAQUE = 'opaque-delegated.token_for~alice+/=';
const jwtShaped = (payload) => `${b64url({ alg: 'RS256', typ: 'at+jwt' })}.${b64url(payload)}.c2lnbmF0dXJl`;
const DELEGATED_JWT = jwtShaped({ sub: USER.id, aud: 'tickets-api', act: { sub: 'mcp-gateway' } });
const dtkOf = (token) => ({ dtk: { ath: sha256Base64url(token), aud: 'tickets-api' } });
const bearer = (token) => [['Authorization', `Bearer ${token}`]];
add('dtk-1. an opaque delegated token whose SHA-256 is dtk.ath', [], {
  body: toolCall(),
  claims: dtkOf(DELEGATED_OPAQUE),
  extraHeaders: bearer(DELEGATED_OPAQUE),
  expect: { user: USER },
});
add('dtk-2. a JWT delegated token about the assertion subject, scheme in upper case', [], {
  body: toolCall(),
  claims: dtkOf(DELEGATED_JWT),
  extraHeaders: [['Authorization', `BEARER ${DELEGATED_JWT}`]],
  expect: { user: USER },
});
add('dtk-3. a JWT-shaped token without sub is bound by ath alone', [], {
  body: toolCall(),
  claims: dtkOf(jwtShaped({ aud: 'tickets-api' })),
  extraHeaders: bearer(jwtShaped({ aud: 'tickets-api' })),
  expect: { user: USER },
});
add('dtk-4. another bearer token', [], {
  body: toolCall(),
  claims: dtkOf(DELEGATED_OPAQUE),
  extraHeaders: bearer(`${DELEGATED_OPAQUE}x`),
  expect: refuse(401, 'delegated_token_mismatch'),
});
add('dtk-5. the announced token is not sent', [], {
  body: toolCall(),
  claims: dtkOf(DELEGATED_OPAQUE),
  expect: refuse(401, 'delegated_token_missing'),
});
add('dtk-6. two Authorization headers, both the token', [], {
  body: toolCall(),
  claims: dtkOf(DELEGATED_OPAQUE),
  extraHeaders: [...bearer(DELEGATED_OPAQUE), ...bearer(DELEGATED_OPAQUE)],
  expect: refuse(401, 'delegated_token_mismatch'),
});
add('dtk-7. another scheme with the token', [], {
  body: toolCall(),
  claims: dtkOf(DELEGATED_OPAQUE),
  extraHeaders: [['Authorization', `DPoP ${DELEGATED_OPAQUE}`]],
  expect: refuse(401, 'delegated_token_mismatch'),
});
add('dtk-8. a JWT delegated token about another subject', [], {
  body: toolCall(),
  claims: dtkOf(jwtShaped({ sub: 'mallory', aud: 'tickets-api' })),
  extraHeaders: bearer(jwtShaped({ sub: 'mallory', aud: 'tickets-api' })),
  expect: refuse(401, 'delegated_token_mismatch'),
});
add('dtk-9. a JWT-shaped token whose payload is not JSON', [], {
  body: toolCall(),
  claims: dtkOf(`${b64url(HEADER)}.${b64url('not json')}.c2ln`),
  extraHeaders: bearer(`${b64url(HEADER)}.${b64url('not json')}.c2ln`),
  expect: refuse(401, 'delegated_token_mismatch'),
});
add('dtk-10. a dtk without ath', [], {
  body: toolCall(),
  claims: { dtk: { aud: 'tickets-api' } },
  extraHeaders: bearer(DELEGATED_OPAQUE),
  expect: refuse(401, 'delegated_token_mismatch'),
});
add('dtk-11. require_delegated_token: an assertion without dtk', [], {
  body: toolCall(),
  receiverOptions: { require_delegated_token: true },
  extraHeaders: bearer(DELEGATED_OPAQUE),
  expect: refuse(401, 'delegated_token_missing'),
});
add('dtk-12. require_delegated_token: an announced token that is sent', [], {
  body: toolCall(),
  receiverOptions: { require_delegated_token: true },
  claims: dtkOf(DELEGATED_OPAQUE),
  extraHeaders: bearer(DELEGATED_OPAQUE),
  expect: { user: USER },
});
add('dtk-13. order: binding before the delegated token', [], {
  body: toolCall({ path: '/etc/passwd' }),
  digestOverride: digestOfJson(toolCall()),
  claims: dtkOf(DELEGATED_OPAQUE),
  expect: refuse(401, 'identity_binding'),
});
add('dtk-14. order: the delegated token before plain headers and replay', [], {
  body: toolCall(),
  claims: { ...dtkOf(DELEGATED_OPAQUE), jti: 'already-seen-jti-0002' },
  seenJtis: ['already-seen-jti-0002'],
  withPlain: false,
  extraHeaders: [['X-Forwarded-User-Admin', 'true'], ...bearer('another-token')],
  expect: refuse(401, 'delegated_token_mismatch'),
});
{
  // Read as Node's Buffer.from(segment, 'base64url') reads it: the base64 alphabet (+ /) too, padding stripped.
  const token = `${b64url({ alg: 'RS256' })}.${Buffer.from(JSON.stringify({ sub: USER.id, note: '??>>~~' }))
    .toString('base64')
    .replace(/=+$/, '')}.c2ln`;
  if (!/[+/]/.test(token)) throw new Error('dtk-15 needs + or / in the payload segment');
  add('dtk-15. a JWT whose payload segment uses the base64 alphabet (+ /) is read leniently, as Node reads it', [], {
    body: toolCall(),
    claims: dtkOf(token),
    extraHeaders: bearer(token),
    expect: { user: USER },
  });
}

write('requests.json', {
  description:
    'Full requests (spec sections "Receiver checks" and, for the ext-* and dtk-* cases, "Extensions"). A receiver configured with config and keys, its clock at clock_ms and its replay store holding seen_jtis, given method, target, the raw header list (names as spelled, in order) and the body bytes as received (base64), and the options of the case set (require_delegated_token: refuse assertions without dtk; false when absent), MUST accept with the user object, or refuse with the HTTP status and error code. decides lists the numbered decisions of the spec (section "Decisions") the case pins.',
  config: {
    issuer: ISSUER,
    audience: AUDIENCE,
    clock_ms: CLOCK_MS,
    clock_tolerance_seconds: 5,
    max_lifetime_seconds: 600,
    header_prefix: 'X-Forwarded-User',
    body_limit: 32768,
  },
  keys,
  cases: requests,
});
process.stdout.write(`wrote ${requests.length} request vectors to ${out}\n`);
void createHash;
