// Writes every ```ts block of README.md, the packages' READMEs and docs/**/*.md to test/readme-snippets/, so
// `npm run typecheck` proves the documentation's examples compile against the packages as they are.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = join(root, 'test/readme-snippets');

/** Markdown files that hold examples: the README, then docs/ in a stable order. */
function markdownFiles() {
  const files = [join(root, 'README.md'), ...['core', 'gateway', 'receiver'].map((p) => join(root, 'packages', p, 'README.md'))];
  const walk = (folder) => {
    if (!existsSync(folder)) return;
    for (const entry of readdirSync(folder, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.md')) files.push(path);
    }
  };
  walk(join(root, 'docs'));
  return files;
}

rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
let count = 0;
for (const file of markdownFiles()) {
  const name = relative(root, file);
  const blocks = [...readFileSync(file, 'utf8').matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
  const stem = name.replace(/\.md$/, '').replace(/[^A-Za-z0-9]+/g, '-');
  blocks.forEach((code, index) => {
    writeFileSync(join(dir, `${stem}-${index + 1}.ts`), `// Generated from ${name} by scripts/readme-snippets.mjs: edit ${name}.\n${code}`);
  });
  count += blocks.length;
}
process.stdout.write(`docs: ${count} TypeScript examples written to test/readme-snippets/\n`);
