/**
 * `node --import ./node22-shim.mjs …/conformance/dist/index.js`: runs @modelcontextprotocol/conformance
 * (built for Node 22) on Node 20 without touching node_modules.
 *
 * The only Node 22 API the bundle needs is `fs.globSync` (a named ESM import from `fs`, used by
 * `tier-check` to find `checks.json` files): the import alone makes the whole CLI fail to load on
 * Node 20. A resolve hook hands the conformance bundle a `fs` module that re-exports `node:fs` plus a
 * small `globSync`. Everything else it uses (`URL.canParse`, `AbortSignal.timeout`, recursive
 * `readdirSync`, global `fetch`) exists in Node 20.19+.
 */
import { register } from 'node:module';

register('./node22-hooks.mjs', import.meta.url);
