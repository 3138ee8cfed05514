/**
 * The shared test vectors of the wire format (spec/vectors/*.json, docs/spec/wire-format-v1.md):
 * the TypeScript implementation must agree with every one, and a vector changed by one byte
 * must fail. The Python suite (python/tests/test_vectors.py) loads the same files.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import express from 'express';
import {
  canonicalJson,
  claimsToUser,
  contextforgeMetaUser,
  decodeHeaderList,
  decodeHeaderValue,
  encodeHeaderList,
  encodeHeaderValue,
  isIdentityError,
  MemoryStore,
  normalizeUserContext,
  readRequestBody,
  requestBodyDigest,
  sha256Base64url,
  userToClaims,
} from '@mcp-identity/core/internal';
import type { JsonWebKey } from 'node:crypto';
import { verifyIdentity } from '../src/index.js';
import { listen } from '../../../test/kit.js';

const dir = fileURLToPath(new URL('../../../spec/vectors/', import.meta.url));
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters
const load = <T>(name: string): T => JSON.parse(readFileSync(`${dir}${name}`, 'utf8')) as T;

interface CanonicalCase {
  readonly name: string;
  readonly input: string;
  readonly canonical?: string;
  readonly sha256?: string;
  readonly error?: 'invalid_json' | 'no_canonical_form';
}
interface BindingCase {
  readonly name: string;
  readonly method: string;
  readonly target: string;
  readonly content_type: string | null;
  readonly content_encoding: string | null;
  readonly body_base64: string;
  readonly req?: { readonly method: string; readonly path: string; readonly body_sha256: string };
  readonly refusal?: { readonly status: number; readonly code: string };
}
interface RequestCase {
  readonly name: string;
  readonly decides: readonly string[];
  readonly method: string;
  readonly target: string;
  readonly headers: readonly (readonly [string, string])[];
  readonly body_base64: string;
  readonly seen_jtis?: readonly string[];
  /** Receiver options of the case (spec "Extensions"). */
  readonly options?: { readonly require_delegated_token?: boolean };
  readonly expect: { readonly user: unknown } | { readonly status: number; readonly code: string };
}
interface RequestVectors {
  readonly config: {
    readonly issuer: string;
    readonly audience: string;
    readonly clock_ms: number;
    readonly clock_tolerance_seconds: number;
    readonly max_lifetime_seconds: number;
    readonly header_prefix: string;
    readonly body_limit: number;
  };
  readonly keys: {
    readonly secrets: readonly { readonly secret: string; readonly kid?: string }[];
    readonly public_keys: readonly { readonly alg: 'EdDSA' | 'ES256'; readonly jwk: JsonWebKey; readonly kid?: string }[];
    readonly jwks: unknown;
  };
  readonly cases: readonly RequestCase[];
}

const canonicalVectors = load<{ cases: CanonicalCase[] }>('canonical-json.json');
const bindingVectors = load<{ cases: BindingCase[] }>('binding.json');
const codecVectors = load<{
  values: { value: string; encoded: string }[];
  refused: string[];
  lists: { values: string[]; encoded: string }[];
  refused_lists: string[];
}>('header-codec.json');
const claimVectors = load<{
  users: { name: string; user: unknown; claims: Record<string, unknown>; contextforge_meta_user: unknown }[];
  from_claims: { name: string; claims: Record<string, unknown>; user: unknown }[];
  refused: { name: string; claims: Record<string, unknown> }[];
}>('claims.json');
const requestVectors = load<RequestVectors>('requests.json');
const decisions = load<{ decisions: Record<string, string> }>('decisions.json').decisions;

const json = (value: unknown): unknown => JSON.parse(JSON.stringify(value)) as unknown;

/** What the implementation makes of a canonical-JSON vector: the canonical text and digest, or the error. */
function canonicalOf(input: string): { canonical?: string; sha256?: string; error?: string } {
  let value: unknown;
  try {
    value = JSON.parse(input);
  } catch {
    return { error: 'invalid_json' };
  }
  try {
    const canonical = canonicalJson(value);
    return { canonical, sha256: sha256Base64url(canonical) };
  } catch {
    return { error: 'no_canonical_form' };
  }
}
const expectedCanonical = (c: CanonicalCase): unknown =>
  c.error === undefined ? { canonical: c.canonical, sha256: c.sha256 } : { error: c.error };

// ---- Sending raw requests --------------------------------------------------------------------

interface RawAnswer {
  readonly status: number;
  readonly body: unknown;
}

async function send(
  port: number,
  method: string,
  target: string,
  headers: readonly (readonly [string, string])[],
  body: Buffer,
): Promise<RawAnswer> {
  const lines = [
    `${method} ${target} HTTP/1.1`,
    'Host: 127.0.0.1',
    'Connection: close',
    ...headers.map(([name, value]) => `${name}: ${value}`),
  ];
  if (body.length > 0 || method === 'POST') lines.push(`Content-Length: ${body.length}`);
  const wire = Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'utf8'), body]);
  const answer = await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = net.connect(port, '127.0.0.1', () => socket.write(wire));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => resolve(Buffer.concat(chunks)));
    socket.on('error', reject);
  });
  const text = answer.toString('utf8');
  const split = text.indexOf('\r\n\r\n');
  const rest = text.slice(split + 4);
  return { status: Number(text.split(' ')[1]), body: rest.length === 0 ? undefined : (JSON.parse(rest) as unknown) };
}

/** The outcome a request vector expects, in the shape {@link requestOutcome} reports. */
const expectedOutcome = (c: RequestCase): unknown => ('user' in c.expect ? { status: 200, user: c.expect.user } : c.expect);

/** Runs one request vector through `verifyIdentity` over real HTTP. */

/** A case's option for the receiver; an option this runner does not know fails the case instead of being ignored. */
function caseOption(c: { readonly options?: Readonly<Record<string, unknown>> }, name: 'require_delegated_token'): boolean | undefined {
  const known = ['require_delegated_token'];
  for (const key of Object.keys(c.options ?? {})) if (!known.includes(key)) throw new Error(`unknown vector option ${key}`);
  const value = c.options?.[name];
  return typeof value === 'boolean' ? value : undefined;
}

async function requestOutcome(vectors: RequestVectors, c: RequestCase): Promise<unknown> {
  const { config, keys } = vectors;
  const clock = (): number => config.clock_ms;
  const replayStore = new MemoryStore({ clock });
  for (const jti of c.seen_jtis ?? []) replayStore.setIfAbsent(`jti:${jti}`, '', 60_000);
  const app = express();
  app.use(
    verifyIdentity({
      issuer: config.issuer,
      audience: config.audience,
      clock,
      clockToleranceSeconds: config.clock_tolerance_seconds,
      maxLifetimeSeconds: config.max_lifetime_seconds,
      headerPrefix: config.header_prefix,
      bodyLimit: config.body_limit,
      secrets: keys.secrets.map(({ secret, kid }) => (kid === undefined ? { secret } : { secret, kid })),
      publicKeys: keys.public_keys.map(({ alg, jwk, kid }) => (kid === undefined ? { alg, publicKey: jwk } : { alg, publicKey: jwk, kid })),
      jwksUrl: 'https://gateway.test/.well-known/mcp-identity/jwks.json',
      jwks: { fetch: () => Promise.resolve(new Response(JSON.stringify(keys.jwks), { headers: { 'content-type': 'application/json' } })) },
      replayStore,
      requireDelegatedToken: caseOption(c, 'require_delegated_token') ?? false,
      audit: () => undefined,
    }),
    (req, res) => {
      res.json({ user: req.user });
    },
  );
  const server = await listen(app);
  try {
    const answer = await send(server.port, c.method, c.target, c.headers, Buffer.from(c.body_base64, 'base64'));
    if (answer.status === 200) return { status: 200, user: (answer.body as { user: unknown }).user };
    const error = (answer.body as { error?: { data?: { code?: unknown } } } | undefined)?.error;
    return { status: answer.status, code: error?.data?.code };
  } finally {
    await server.close();
  }
}

/** Runs one binding vector: the body read (decoded) as the receiver reads it, then the digest. */
async function bindingOutcome(c: BindingCase): Promise<unknown> {
  const server = http.createServer((req, res) => {
    readRequestBody(req, { limit: 1024 * 1024 }).then(
      ({ bytes }) => {
        const digest = requestBodyDigest(req.headers['content-type'], bytes);
        res.end(JSON.stringify({ req: { method: req.method, path: req.url, body_sha256: digest } }));
      },
      (error: unknown) => {
        if (!isIdentityError(error)) throw error;
        res.end(JSON.stringify({ refusal: { status: error.status, code: error.code } }));
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const port = (server.address() as net.AddressInfo).port;
    const headers: [string, string][] = [];
    if (c.content_type !== null) headers.push(['Content-Type', c.content_type]);
    if (c.content_encoding !== null) headers.push(['Content-Encoding', c.content_encoding]);
    return (await send(port, c.method, c.target, headers, Buffer.from(c.body_base64, 'base64'))).body;
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}
const expectedBinding = (c: BindingCase): unknown => (c.refusal === undefined ? { req: c.req } : { refusal: c.refusal });

// ---- The vectors -----------------------------------------------------------------------------

describe('shared vectors: canonical JSON', () => {
  it.each(canonicalVectors.cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    expect(canonicalOf(c.input)).toEqual(expectedCanonical(c));
  });
});

describe('shared vectors: request binding', () => {
  it.each(bindingVectors.cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    expect(await bindingOutcome(c)).toEqual(expectedBinding(c));
  });
});

describe('shared vectors: header codec', () => {
  it.each(codecVectors.values.map((c) => [c.value, c] as const))('encodes and decodes %j', (_name, { value, encoded }) => {
    expect(encodeHeaderValue(value)).toBe(encoded);
    expect(decodeHeaderValue(encoded)).toBe(value);
  });
  it.each(codecVectors.refused.map((encoded) => [encoded]))('refuses the spelling %j', (encoded) => {
    expect(decodeHeaderValue(encoded)).toBeUndefined();
  });
  it.each(codecVectors.lists.map((c) => [c.encoded, c] as const))('encodes and decodes the list %j', (_name, { values, encoded }) => {
    expect(encodeHeaderList(values)).toBe(encoded);
    expect(decodeHeaderList(encoded)).toEqual(values);
  });
  it.each(codecVectors.refused_lists.map((encoded) => [encoded]))('refuses the list spelling %j', (encoded) => {
    expect(decodeHeaderList(encoded)).toBeUndefined();
  });
});

describe('shared vectors: claims and the user object', () => {
  it.each(claimVectors.users.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const user = normalizeUserContext(c.user);
    expect(json(userToClaims(user))).toEqual(c.claims);
    expect(json(claimsToUser(c.claims))).toEqual(c.user);
    expect(json(contextforgeMetaUser(user))).toEqual(c.contextforge_meta_user);
  });
  it.each(claimVectors.from_claims.map((c) => [c.name, c] as const))('reads %s', (_name, c) => {
    expect(json(claimsToUser(c.claims))).toEqual(c.user);
  });
  it.each(claimVectors.refused.map((c) => [c.name, c] as const))('refuses %s with identity_invalid', (_name, c) => {
    expect(() => claimsToUser(c.claims)).toThrow(expect.objectContaining({ code: 'identity_invalid' }));
  });
});

describe('shared vectors: full requests', () => {
  it.each(requestVectors.cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    expect(await requestOutcome(requestVectors, c)).toEqual(expectedOutcome(c));
  });

  it('covers each of the 17 decisions of the spec at least once', () => {
    const decided = new Set(requestVectors.cases.flatMap((c) => c.decides));
    expect([...decided].sort((a, b) => Number(a) - Number(b))).toEqual(Array.from({ length: 17 }, (_, i) => String(i + 1)));
  });

  it('covers every refusal code of the receiver checks', () => {
    const codes = new Set(requestVectors.cases.flatMap((c) => ('code' in c.expect ? [c.expect.code] : [])));
    expect([...codes].sort()).toEqual(
      [
        'body_too_large',
        'delegated_token_mismatch',
        'delegated_token_missing',
        'identity_audience',
        'identity_binding',
        'identity_expired',
        'identity_invalid',
        'identity_issuer',
        'identity_mismatch',
        'identity_missing',
        'identity_replayed',
        'mcp_header_mismatch',
        'mcp_message_refused',
        'parse_error',
        'unsupported_encoding',
      ].sort(),
    );
  });
});

describe('spec decisions (docs/spec/wire-format-v1.md, Decisions): one test per answer', () => {
  it.each(Object.entries(decisions))('decision %s: %s', async (number) => {
    const cases = requestVectors.cases.filter((c) => c.decides.includes(number));
    expect(cases.length).toBeGreaterThan(0);
    for (const c of cases)
      expect({ name: c.name, outcome: await requestOutcome(requestVectors, c) }).toEqual({ name: c.name, outcome: expectedOutcome(c) });
  });
});

describe('shared vectors changed by one byte', () => {
  const flip = (text: string, at: number): string => text.slice(0, at) + String.fromCharCode(text.charCodeAt(at) ^ 1) + text.slice(at + 1);

  it('fails a canonical-JSON vector whose canonical text differs by one byte', () => {
    const c = canonicalVectors.cases.find((entry) => entry.name === 'a JSON-RPC request');
    if (c?.canonical === undefined) throw new Error('vector missing');
    const mutated = { ...c, canonical: flip(c.canonical, 20) };
    expect(canonicalOf(mutated.input)).toEqual(expectedCanonical(c));
    expect(canonicalOf(mutated.input)).not.toEqual(expectedCanonical(mutated));
  });

  it('fails a binding vector whose body differs by one byte', async () => {
    const c = bindingVectors.cases.find((entry) => entry.name === 'JSON body');
    if (c === undefined) throw new Error('vector missing');
    const body = Buffer.from(c.body_base64, 'base64');
    body.writeUInt8(body.readUInt8(body.indexOf('echo')) ^ 1, body.indexOf('echo'));
    expect(await bindingOutcome({ ...c, body_base64: body.toString('base64') })).not.toEqual(expectedBinding(c));
  });

  it('fails an accepted request vector whose body differs by one byte', async () => {
    const c = requestVectors.cases[0];
    if (c === undefined || !('user' in c.expect)) throw new Error('vector missing');
    const body = Buffer.from(c.body_base64, 'base64');
    body.writeUInt8(body.readUInt8(body.indexOf('read_file')) ^ 1, body.indexOf('read_file'));
    const outcome = await requestOutcome(requestVectors, { ...c, body_base64: body.toString('base64') });
    expect(outcome).not.toEqual(expectedOutcome(c));
    expect(outcome).toEqual({ status: 401, code: 'identity_binding' });
  });

  it('fails an accepted request vector whose token differs by one byte', async () => {
    const c = requestVectors.cases[0];
    if (c === undefined) throw new Error('vector missing');
    const headers = c.headers.map(
      ([name, value]) => [name, name === 'X-Forwarded-User-Assertion' ? flip(value, value.length - 10) : value] as const,
    );
    expect(await requestOutcome(requestVectors, { ...c, headers })).toEqual({ status: 401, code: 'identity_invalid' });
  });
});
