/** `node:fs` plus `globSync` (Node 22) for Node 20: `*`, `?` and `**` segments, `cwd` option, relative results. */
import fs from 'node:fs';
import path from 'node:path';

export * from 'node:fs';
export default fs;

function toRegExp(pattern) {
  let source = '';
  for (let i = 0; i < pattern.length; i += 1) {
    const char = pattern[i];
    if (char === '*' && pattern[i + 1] === '*') {
      const slash = pattern[i + 2] === '/';
      source += slash ? '(?:.*/)?' : '.*';
      i += slash ? 2 : 1;
    } else if (char === '*') source += '[^/]*';
    else if (char === '?') source += '[^/]';
    else source += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

export function globSync(patterns, options = {}) {
  const cwd = options.cwd === undefined ? process.cwd() : String(options.cwd);
  const list = Array.isArray(patterns) ? patterns : [patterns];
  let entries;
  try {
    entries = fs.readdirSync(cwd, { recursive: true }).map((entry) => String(entry).split(path.sep).join('/'));
  } catch {
    return [];
  }
  const matchers = list.map(toRegExp);
  return entries.filter((entry) => matchers.some((matcher) => matcher.test(entry))).map((entry) => entry.split('/').join(path.sep));
}
