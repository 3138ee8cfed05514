/**
 * Construction of `propagateIdentity` and `identityPlugin`: every mistake throws a TypeError
 * naming the option, at start-up.
 */
import { identityPlugin, propagateIdentity } from '../src/index.js';
import type { PropagateIdentityOptions } from '../src/index.js';
import { identityOptions } from './propagate-kit.js';

const valid: PropagateIdentityOptions = { target: 'http://127.0.0.1:4000/mcp', ...identityOptions };

/** Options with `name` removed or replaced (wrong types on purpose). */
function withOption(name: string, value?: unknown): any {
  const options: Record<string, unknown> = { ...valid };
  if (arguments.length === 1) Reflect.deleteProperty(options, name);
  else options[name] = value;
  return options;
}

describe('propagateIdentity construction', () => {
  it('builds with the required options only', () => {
    expect(typeof propagateIdentity(valid)).toBe('function');
    expect(typeof propagateIdentity({ ...valid, target: new URL('https://upstream.example/mcp') })).toBe('function');
  });

  it.each([
    ['target missing', withOption('target'), /target/],
    ['target not a URL', withOption('target', 'not a url'), /target/],
    ['target not http(s)', withOption('target', 'ftp://upstream.example'), /target/],
    ['audience missing', withOption('audience'), /audience/],
    ['audience empty', withOption('audience', '  '), /audience/],
    ['issuer missing', withOption('issuer'), /issuer/],
    ['issuer not a string', withOption('issuer', 42), /issuer/],
    ['signing missing', withOption('signing'), /signing/],
    ['signing explicitly undefined', withOption('signing', undefined), /signing/],
    ['signing without a secret', withOption('signing', {}), /signing\.secret/],
    ['carriers empty', withOption('carriers', []), /carriers/],
    ['carriers unknown', withOption('carriers', ['headers', 'cookie']), /carriers/],
    ['claims with an unknown field', withOption('claims', ['email', 'password']), /claims/],
    ['claims listing id', withOption('claims', ['id']), /claims/],
    ['claims not an array', withOption('claims', 'email'), /claims/],
    ['ttlSeconds zero', withOption('ttlSeconds', 0), /ttlSeconds/],
    ['bodyLimit negative', withOption('bodyLimit', -1), /bodyLimit/],
    ['timeoutMs fractional', withOption('timeoutMs', 1.5), /timeoutMs/],
    ['maxHeaderBytes zero', withOption('maxHeaderBytes', 0), /maxHeaderBytes/],
    ['maxHeaderBytes a string', withOption('maxHeaderBytes', '16k'), /maxHeaderBytes/],
    ['headerPrefix with a space', withOption('headerPrefix', 'X Forwarded'), /headerPrefix/],
    ['apiKeyHeader with a colon', withOption('apiKeyHeader', 'x-api:key'), /apiKeyHeader/],
    ['forwardCredentials keeping an identity header', withOption('forwardCredentials', ['X_Forwarded_User_Admin']), /forwardCredentials/],
    ['forwardCredentials not strings', withOption('forwardCredentials', [1]), /forwardCredentials/],
    [
      'forwardCredentials keeping Authorization',
      withOption('forwardCredentials', ['authorization']),
      /forwardCredentials.*authorization.*MUST NOT pass through/,
    ],
    [
      'forwardCredentials keeping Proxy_Authorization',
      withOption('forwardCredentials', ['Proxy_Authorization']),
      /forwardCredentials.*proxy-authorization.*passthrough/,
    ],
    ['forwardCredentials keeping Cookie', withOption('forwardCredentials', ['Cookie']), /forwardCredentials.*cookie.*passthrough/],
    ['forwardCredentials keeping X-API-Key', withOption('forwardCredentials', ['X-API-Key']), /forwardCredentials.*x-api-key.*passthrough/],
    [
      'forwardCredentials keeping the apiKeyHeader',
      { ...withOption('forwardCredentials', ['x-service-key']), apiKeyHeader: 'X-Service-Key' },
      /forwardCredentials.*x-service-key/,
    ],
    ['stripHeaders with an empty name', withOption('stripHeaders', ['']), /stripHeaders/],
    ['credentialQueryParams not an array', withOption('credentialQueryParams', 'token'), /credentialQueryParams/],
    ['sensitiveAttributes with a number', withOption('sensitiveAttributes', [1]), /sensitiveAttributes/],
    ['clock not a function', withOption('clock', 123), /clock/],
    ['proxy not an object', withOption('proxy', 'x'), /proxy/],
    ['proxy.ws', withOption('proxy', { ws: true }), /proxy\.ws/],
    ['proxy.target', withOption('proxy', { target: 'http://elsewhere.example' }), /proxy\.target/],
    ['proxy.selfHandleResponse', withOption('proxy', { selfHandleResponse: true }), /proxy\.selfHandleResponse/],
    ['proxy.buffer', withOption('proxy', { buffer: null }), /proxy\.buffer/],
    ['proxy.forward', withOption('proxy', { forward: 'http://elsewhere.example' }), /proxy\.forward/],
    ['proxy.ejectPlugins', withOption('proxy', { ejectPlugins: false }), /proxy\.ejectPlugins/],
  ])('throws a TypeError naming the option for %s', (_name, options, message) => {
    expect(() => propagateIdentity(options)).toThrow(TypeError);
    expect(() => propagateIdentity(options)).toThrow(message);
  });

  it.each([
    ['too short', 'short-secret-0123456789'],
    ['a placeholder', 'changeme-changeme-changeme-changeme-changeme'],
    ['repetitive', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'],
  ])('refuses a weak secret (%s) without putting it in the message', (_name, secret) => {
    const build = (): unknown => propagateIdentity({ ...valid, signing: { secret } });
    expect(build).toThrow(TypeError);
    expect(build).toThrow(/signing\.secret/);
    let message = '';
    try {
      build();
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/signing\.secret/);
    expect(message).not.toContain(secret);
    expect(message).not.toContain(secret.slice(0, 8));
  });

  it('does not modify the options object it is given', () => {
    const proxy = { changeOrigin: true };
    const options = Object.freeze({ ...valid, carriers: Object.freeze(['headers'] as const), proxy: Object.freeze(proxy) });
    expect(() => propagateIdentity(options)).not.toThrow();
    expect(options.proxy).toEqual({ changeOrigin: true });
  });
});

describe('identityPlugin construction', () => {
  it('builds a plugin function from the identity options', () => {
    expect(typeof identityPlugin(identityOptions)).toBe('function');
  });

  it.each([
    ['audience missing', { issuer: 'https://gateway.test', signing: identityOptions.signing }, /audience/],
    ['issuer missing', { audience: 'urn:mcp:x', signing: identityOptions.signing }, /issuer/],
    ['signing missing', { audience: 'urn:mcp:x', issuer: 'https://gateway.test' }, /signing/],
    ['a weak secret', { ...identityOptions, signing: { secret: 'too-short' } }, /signing\.secret/],
    ['carriers empty', { ...identityOptions, carriers: [] }, /carriers/],
    ['an unknown claims field', { ...identityOptions, claims: ['ssn'] }, /claims/],
    ['options not an object', null, /options/],
  ])('throws a TypeError naming the option for %s', (_name, options, message) => {
    expect(() => identityPlugin(options as any)).toThrow(TypeError);
    expect(() => identityPlugin(options as any)).toThrow(message);
  });
});
