/**
 * Micro-benchmark of the large-body steps, per request, for 256 KiB and 1 MiB `tools/call`
 * bodies: parse (UTF-8 check, long strings taken from their bytes, JSON.parse, duplicate-key scan)
 * beside the former whole-text parse, the body digest (JCS
 * hashed in pieces) beside the former whole-string canonical form + SHA-256, and the splice of
 * the rewritten `_meta` (views of the client's bytes) beside joining it into one buffer.
 * Run alone with `node bench/dist/body-micro.js`.
 */
import { pathToFileURL } from 'node:url';
import {
  canonicalJson,
  jsonBodyDigest,
  META_USER,
  parseJsonRpcBody,
  serializeJsonRpcBody,
  serializeJsonRpcBodyParts,
  setIdentityMeta,
  sha256Base64url,
} from '@mcp-identity/core/internal';
import type { MicroResult } from './micro.js';
import { bodyOfSize } from './fixtures.js';

function measure(name: string, op: () => unknown, minMs = 300): MicroResult {
  for (let i = 0; i < 5; i++) op(); // warm-up
  let count = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < minMs) {
    op();
    count++;
    elapsed = Number(process.hrtime.bigint() - start) / 1e6;
  }
  return { name, opsPerSecond: Math.round((count / elapsed) * 1000), microsPerOp: Math.round((elapsed * 1000) / count) };
}

export function bodyBenchmarks(): MicroResult[] {
  const results: MicroResult[] = [];
  for (const [size, bytes] of [
    ['256 KiB', 256 * 1024],
    ['1 MiB', 1024 * 1024],
  ] as const) {
    const body = Buffer.from(bodyOfSize(bytes));
    const rpc = parseJsonRpcBody(body);
    for (const message of rpc.messages) setIdentityMeta(message, { [META_USER]: { id: 'user-42', authMethod: 'jwt' } });
    results.push(measure(`${size} body: parseJsonRpcBody`, () => parseJsonRpcBody(body)));
    // The former parse: the whole body decoded, then JSON.parse copying the long string out of it.
    results.push(
      measure(`${size} body: parseJsonRpcBody, whole text (the former parse)`, () => parseJsonRpcBody(body, { minLength: Infinity })),
    );
    results.push(measure(`${size} body: jsonBodyDigest (JCS hashed in pieces)`, () => jsonBodyDigest(rpc.value)));
    results.push(measure(`${size} body: sha256(canonicalJson) (the former digest)`, () => sha256Base64url(canonicalJson(rpc.value))));
    results.push(measure(`${size} body: splice _meta, as views (serializeJsonRpcBodyParts)`, () => serializeJsonRpcBodyParts(rpc)));
    results.push(measure(`${size} body: splice _meta, joined (serializeJsonRpcBody)`, () => serializeJsonRpcBody(rpc)));
  }
  return results;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const result of bodyBenchmarks()) console.log(`${result.name}: ${result.microsPerOp} µs/op`);
}
