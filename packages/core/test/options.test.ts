import {
  booleanOption,
  clockOption,
  DEFAULT_CLOCK_TOLERANCE_SECONDS,
  functionOption,
  headerNameOption,
  httpsUrl,
  integerInRange,
  isSessionStore,
  loggerOption,
  MemoryStore,
  nonNegativeInteger,
  objectOption,
  onlyKnownKeys,
  RedisStore,
  positiveInteger,
  requiredIdentifier,
  secondsToMs,
} from '../src/internal.js';

describe('integerInRange', () => {
  it('returns the fallback for undefined and the value at both ends of the range', () => {
    expect(integerInRange(undefined, 'timeoutMs', 5000, 1, 120_000)).toBe(5000);
    expect(integerInRange(1, 'timeoutMs', 5000, 1, 120_000)).toBe(1);
    expect(integerInRange(120_000, 'timeoutMs', 5000, 1, 120_000)).toBe(120_000);
  });

  it.each([
    ['just below the range', 0],
    ['just above the range', 301],
    ['a fraction', 1.5],
    ['a numeric string', '30'],
    ['NaN', Number.NaN],
    ['null', null],
  ])('throws a TypeError naming the option and the range when it is %s', (_label, value) => {
    expect(() => integerInRange(value, 'clockToleranceSeconds', 30, 1, 300)).toThrow(
      new TypeError('clockToleranceSeconds must be an integer from 1 to 300'),
    );
  });
});

describe('positiveInteger and nonNegativeInteger', () => {
  it('accepts 1 as positive and 0 as non-negative, and returns the fallback for undefined', () => {
    expect(positiveInteger(1, 'ttlSeconds', 60)).toBe(1);
    expect(positiveInteger(undefined, 'ttlSeconds', 60)).toBe(60);
    expect(nonNegativeInteger(0, 'clockToleranceSeconds', 5)).toBe(0);
    expect(nonNegativeInteger(undefined, 'clockToleranceSeconds', 5)).toBe(5);
  });

  it.each([0, -1, 1.5, '60', Number.MAX_SAFE_INTEGER + 1])(
    'throws a TypeError naming the option when a positive integer is %p',
    (value) => {
      expect(() => positiveInteger(value, 'sessions.ttlSeconds', 60)).toThrow(/^sessions\.ttlSeconds must be a positive integer \(got /);
    },
  );

  it.each([-1, 0.5, '0', null])('throws a TypeError naming the option when a non-negative integer is %p', (value) => {
    expect(() => nonNegativeInteger(value, 'debounceMs', 100)).toThrow(new TypeError('debounceMs must be a non-negative integer'));
  });

  it('throws a TypeError that ends with the hint when one is given', () => {
    expect(() => nonNegativeInteger(-1, 'maxDelegationDepth', 0, '0 refuses delegated calls')).toThrow(
      new TypeError('maxDelegationDepth must be a non-negative integer (0 refuses delegated calls)'),
    );
  });
});

describe('durations', () => {
  it('turns seconds into milliseconds', () => {
    expect(secondsToMs(30)).toBe(30_000);
    expect(secondsToMs(0)).toBe(0);
  });

  it('defaults the clock tolerance to 5 seconds', () => {
    expect(DEFAULT_CLOCK_TOLERANCE_SECONDS).toBe(5);
  });
});

describe('requiredIdentifier', () => {
  it('returns the identifier unchanged', () => {
    expect(requiredIdentifier('urn:mcp:files', 'audience')).toBe('urn:mcp:files');
  });

  it.each([undefined, '', '   ', 42])('throws a TypeError naming the option when it is %p', (value) => {
    expect(() => requiredIdentifier(value, 'audience')).toThrow(new TypeError('audience is required: a non-empty string'));
  });

  it('throws a TypeError naming the option when it is too long or not well-formed text', () => {
    expect(() => requiredIdentifier('a'.repeat(1025), 'issuer')).toThrow(/^issuer must be at most 1024 characters/);
    expect(() => requiredIdentifier('a\ud800', 'issuer')).toThrow(/^issuer must be at most 1024 characters of well-formed text/);
  });
});

describe('objectOption, booleanOption and functionOption', () => {
  it('returns a plain object, including one without a prototype', () => {
    const bare = Object.create(null) as Record<string, unknown>;
    expect(objectOption(bare, 'cache')).toBe(bare);
  });

  it.each([null, [], 'yes', 1])('throws a TypeError naming the option when an object is %p', (value) => {
    expect(() => objectOption(value, 'cache')).toThrow(new TypeError('cache must be an object'));
    expect(() => objectOption(value, 'sessions', '{ store }')).toThrow(new TypeError('sessions must be an object: { store }'));
  });

  it('throws a TypeError naming the option when a boolean is a string, and returns the fallback for undefined', () => {
    expect(() => booleanOption('true', 'bindRequest', true)).toThrow(new TypeError('bindRequest must be a boolean'));
    expect(booleanOption(undefined, 'bindRequest', true)).toBe(true);
    expect(booleanOption(false, 'bindRequest', true)).toBe(false);
  });

  it('throws a TypeError naming the option when a function is something else', () => {
    const fallback = (): number => 1;
    expect(() => functionOption({} as unknown as () => number, 'fetch', fallback)).toThrow(new TypeError('fetch must be a function'));
    expect(functionOption(undefined, 'fetch', fallback)).toBe(fallback);
  });

  it('throws a TypeError naming clock when the clock is a Date, and defaults to Date.now', () => {
    expect(() => clockOption(new Date() as unknown as () => number)).toThrow(
      new TypeError('clock must be a function returning milliseconds'),
    );
    expect(clockOption(undefined)).toBe(Date.now);
  });

  it('throws a TypeError naming logger when it has no warn method, and defaults to console', () => {
    expect(() => loggerOption({ info: () => undefined } as never)).toThrow(new TypeError('logger must have a warn(message) method'));
    expect(loggerOption(undefined)).toBe(console);
  });
});

describe('headerNameOption', () => {
  it('returns the name as given, and the fallback for undefined', () => {
    expect(headerNameOption('X-Act-As', 'delegation.header', 'x-act-as')).toBe('X-Act-As');
    expect(headerNameOption(undefined, 'delegation.header', 'x-act-as')).toBe('x-act-as');
  });

  it.each(['x act as', 'x-act-as:', '', 'x-act-\u00e9'])('throws a TypeError naming the option when the name is %p', (value) => {
    expect(() => headerNameOption(value, 'apiKeyHeader', 'x-api-key')).toThrow(
      new TypeError('apiKeyHeader must be a valid HTTP header name'),
    );
  });
});

describe('httpsUrl', () => {
  it('accepts https: anywhere and http: on a loopback host only', () => {
    expect(httpsUrl('https://login.example.com/realms/mcp', 'issuer').hostname).toBe('login.example.com');
    expect(httpsUrl('http://127.0.0.1:8080/token', 'tokenEndpoint').port).toBe('8080');
    expect(httpsUrl(new URL('http://[::1]/'), 'issuer').hostname).toBe('[::1]');
  });

  it('throws a TypeError naming the option when it is not an absolute URL', () => {
    expect(() => httpsUrl('/token', 'tokenEndpoint')).toThrow(new TypeError('tokenEndpoint must be an absolute URL'));
  });

  it.each(['http://login.example.com/', 'ftp://127.0.0.1/', 'http://127.0.0.2.example/'])(
    'throws a TypeError naming the option when %s is neither https: nor loopback http:',
    (value) => {
      expect(() => httpsUrl(value, 'issuers[0].issuer')).toThrow(
        new TypeError('issuers[0].issuer must be an https: URL (http: only on a loopback host)'),
      );
    },
  );
});

describe('isSessionStore', () => {
  it('accepts a MemoryStore and refuses an object without delete', () => {
    expect(isSessionStore(new MemoryStore())).toBe(true);
    expect(isSessionStore({ setIfAbsent: () => true, get: () => undefined })).toBe(false);
    expect(isSessionStore(null)).toBe(false);
  });
});

describe('onlyKnownKeys', () => {
  it('throws a TypeError naming the first unknown key and listing what the owner takes', () => {
    expect(() => onlyKnownKeys({ ttlSeconds: 1, ttl: 2 }, 'sessions', ['store', 'ttlSeconds'], { prefix: 'sessions.' })).toThrow(
      new TypeError('sessions.ttl is not an option of sessions (it takes store, ttlSeconds)'),
    );
  });

  it('leaves a key set to undefined alone, as an option left unset', () => {
    expect(() => onlyKnownKeys({ store: 1, ttl: undefined }, 'sessions', ['store'])).not.toThrow();
  });

  it('quotes a key that is not a plain name, cut to 40 characters, so no text from configuration runs on', () => {
    expect(() => onlyKnownKeys({ ['bad key\n' + 'x'.repeat(100)]: 1 }, 'o', ['a'])).toThrow(
      /^"bad key\\u000ax{27}…" is not an option of o/,
    );
  });

  it('escapes line breaks, quotes and bidirectional controls in a key, so none reaches a log as is', () => {
    expect(() => onlyKnownKeys({ 'a\u202eb"c\u2028': 1 }, 'o', ['a'])).toThrow(/^"a\\u202eb\\u0022c\\u2028" is not an option of o/);
  });

  it('says where a key another API takes belongs', () => {
    expect(() => onlyKnownKeys({ policy: {} }, 'plugin', ['a'], { elsewhere: { policy: 'use the proxy' } })).toThrow(
      new TypeError('policy is not an option of plugin: use the proxy'),
    );
  });

  it('does not take a key from the prototype of the hints as a hint', () => {
    expect(() => onlyKnownKeys({ toString: 1 }, 'o', ['a'])).toThrow(/^toString is not an option of o \(it takes a\)$/);
  });
});

describe('store options', () => {
  it('refuses maxEntrys (for maxEntries) in MemoryStore: the default bound would stay without a word', () => {
    expect(() => new MemoryStore({ maxEntrys: 10 } as never)).toThrow(
      new TypeError('maxEntrys is not an option of MemoryStore (it takes maxEntries, clock)'),
    );
  });

  it('refuses keyPrefix (for prefix): deployments sharing a Redis would stay in one namespace', () => {
    const client = { set: () => undefined, get: () => undefined, del: () => undefined };
    expect(() => new RedisStore(client as never, { keyPrefix: 'notes:' } as never)).toThrow(
      new TypeError('keyPrefix is not an option of RedisStore (it takes prefix, timeoutMs)'),
    );
  });
});
