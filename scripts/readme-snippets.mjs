// Writes every ```ts block of README.md to test/readme-snippets/, so `npm run typecheck`
// proves the README's examples compile against the packages as they are.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';

const dir = new URL('../test/readme-snippets/', import.meta.url);
const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const blocks = [...readme.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((match) => match[1]);
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
blocks.forEach((code, index) => {
  writeFileSync(
    new URL(`snippet-${index + 1}.ts`, dir),
    `// Generated from README.md by scripts/readme-snippets.mjs: edit the README.\n${code}`,
  );
});
process.stdout.write(`README: ${blocks.length} TypeScript examples written to test/readme-snippets/\n`);
