/** Module resolve hook for node22-shim.mjs: `fs` as seen by the conformance bundle gains `globSync`. */
const FS_WITH_GLOB = new URL('./node22-fs.mjs', import.meta.url).href;

export async function resolve(specifier, context, nextResolve) {
  if (
    (specifier === 'fs' || specifier === 'node:fs') &&
    context.parentURL !== undefined &&
    context.parentURL.includes('/@modelcontextprotocol/conformance/')
  ) {
    return { url: FS_WITH_GLOB, shortCircuit: true };
  }
  return nextResolve(specifier, context);
}
