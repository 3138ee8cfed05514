/** Child process (run with --expose-gc): heap bytes per live entry of the MemoryStore at 100k jtis. */
import { MemoryStore, randomId } from '@mcp-identity/core/internal';

const ENTRIES = 100_000;
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with --expose-gc');
const store = new MemoryStore({ maxEntries: ENTRIES * 2 });
gc();
gc();
const before = process.memoryUsage().heapUsed;
// Keys built the way the receiver builds them, so their string representation is the real one.
for (let i = 0; i < ENTRIES; i++) store.setIfAbsent(`jti:${randomId()}`, '', 60_000);
gc();
gc();
const after = process.memoryUsage().heapUsed;
process.send?.({ type: 'replay', entries: store.size, bytesPerEntry: (after - before) / ENTRIES });
