// Tests the packages as they would be published: `npm pack`s each one, lints it with publint and
// @arethetypeswrong/cli, installs the tarballs into a fresh temporary project and loads them there
// by `import`, by `require()` and from TypeScript (NodeNext). Run after `npm run build`.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const packages = ['core', 'gateway', 'receiver'];
const work = mkdtempSync(join(tmpdir(), 'mcp-identity-pack-'));
const bin = (name) => join(root, 'node_modules', '.bin', name);
const run = (command, args, cwd) => execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

let failures = 0;
function check(name, action) {
  try {
    action();
    process.stdout.write(`ok   ${name}\n`);
  } catch (error) {
    failures += 1;
    process.stdout.write(`FAIL ${name}\n${error.stdout ?? ''}${error.stderr ?? ''}${error.stdout ? '' : error.message}\n`);
  }
}

try {
  const tarballs = {};
  for (const name of packages) {
    const dir = join(root, 'packages', name);
    const [packed] = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', work], dir));
    tarballs[name] = join(work, packed.filename);
    const files = packed.files.map((file) => file.path);
    check(`@mcp-identity/${name}: tarball holds LICENSE, README.md, dist and src`, () => {
      for (const required of ['LICENSE', 'README.md', 'dist/index.js', 'dist/index.d.ts']) {
        if (!files.includes(required)) throw new Error(`missing ${required}`);
      }
      if (!files.some((file) => file.startsWith('src/'))) throw new Error('missing src/ (the source maps point there)');
      const stray = files.filter((file) => /(^|\/)test\/|\.tsbuildinfo$/.test(file));
      if (stray.length > 0) throw new Error(`ships ${stray.join(', ')}`);
    });
    check(`@mcp-identity/${name}: publint`, () => run(bin('publint'), ['--strict', dir], root));
    // ESM only by design (Node >= 20.19, where require() of ESM works, as proved below): attw's
    // esm-only profile, which leaves out the CommonJS and node10 resolution models.
    check(`@mcp-identity/${name}: attw`, () => run(bin('attw'), [tarballs[name], '--profile', 'esm-only'], root));
  }

  const app = join(work, 'app');
  run('mkdir', ['-p', app], work);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true, version: '1.0.0' }));
  const versions = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).devDependencies;
  const peers = ['express', 'passport', 'http-proxy-middleware', 'typescript', '@types/node', '@types/express'].map(
    (peer) => `${peer}@${versions[peer]}`,
  );
  check('the tarballs install into a fresh project', () =>
    run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', ...Object.values(tarballs), ...peers], app),
  );

  writeFileSync(
    join(app, 'esm.mjs'),
    `import { normalizeUserContext } from '@mcp-identity/core';
import { authenticate, propagateIdentity, identityPlugin, jwks } from '@mcp-identity/gateway';
import { verifyIdentity, getUser } from '@mcp-identity/receiver';
for (const f of [normalizeUserContext, authenticate, propagateIdentity, identityPlugin, jwks, verifyIdentity, getUser]) {
  if (typeof f !== 'function') throw new Error('missing export');
}
console.log(normalizeUserContext({ id: 'alice', authMethod: 'jwt' }).id);
`,
  );
  writeFileSync(
    join(app, 'cjs.cjs'),
    `const { normalizeUserContext } = require('@mcp-identity/core');
const { propagateIdentity } = require('@mcp-identity/gateway');
const { verifyIdentity } = require('@mcp-identity/receiver');
if (typeof propagateIdentity !== 'function' || typeof verifyIdentity !== 'function') throw new Error('missing export');
console.log(normalizeUserContext({ id: 'bob', authMethod: 'basic' }).id);
`,
  );
  writeFileSync(
    join(app, 'main.ts'),
    `import type { UserContext } from '@mcp-identity/core';
import { propagateIdentity } from '@mcp-identity/gateway';
import { getUser, verifyIdentity } from '@mcp-identity/receiver';
const user: UserContext | undefined = getUser({ authInfo: undefined });
export const middleware = [
  propagateIdentity({ target: 'http://127.0.0.1:4000/mcp', audience: 'urn:mcp:a', issuer: 'https://gw', signing: { alg: 'HS256', secret: 'x'.repeat(32) } }),
  verifyIdentity({ audience: 'urn:mcp:a', issuer: 'https://gw', secrets: [{ secret: 'x'.repeat(32) }] }),
];
export { user };
`,
  );
  writeFileSync(
    join(app, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true, types: ['node'] },
      files: ['main.ts'],
    }),
  );
  check('import() of the installed packages', () => {
    if (run('node', ['esm.mjs'], app).trim() !== 'alice') throw new Error('unexpected output');
  });
  check('require() of the installed packages', () => {
    if (run('node', ['cjs.cjs'], app).trim() !== 'bob') throw new Error('unexpected output');
  });
  check('TypeScript (NodeNext) against the installed packages', () => run(join(app, 'node_modules', '.bin', 'tsc'), ['-p', '.'], app));
} finally {
  rmSync(work, { recursive: true, force: true });
}

process.stdout.write(failures === 0 ? 'packages: all checks passed\n' : `packages: ${failures} check(s) failed\n`);
process.exitCode = failures === 0 ? 0 : 1;
