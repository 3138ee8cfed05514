// Fails any test that writes to the console: code under test logs through an injected logger.
const methods = ['log', 'info', 'warn', 'error', 'debug'] as const;
const originals = new Map(methods.map((method) => [method, console[method].bind(console)]));
let written: string[] = [];

beforeEach(() => {
  written = [];
  for (const method of methods) {
    console[method] = (...args: unknown[]) => {
      written.push(`console.${method}: ${args.map(String).join(' ').slice(0, 300)}`);
    };
  }
});

afterEach(() => {
  for (const [method, original] of originals) console[method] = original;
  if (written.length > 0) throw new Error(`unexpected console output:\n${written.join('\n')}`);
});
