/**
 * What never leaves the gateway: client identity headers in every spelling, client
 * credentials, credential query parameters, auth-proxy headers and hop-by-hop headers.
 */
import type { Received } from '../../../test/kit.js';
import { alice, closeAll, expectBoundTo, only, rawRequest, startGateway, toolsCall, verifyAssertion } from './propagate-kit.js';
import type { GatewayUnderTest } from './propagate-kit.js';

afterEach(closeAll);

const BODY = JSON.stringify(toolsCall());
const canonical = (name: string): string => name.toLowerCase().replaceAll('_', '-');

/** Every header the upstream received, as [canonical name, value], in wire order. */
function headerPairs(received: Received): [string, string][] {
  const pairs: [string, string][] = [];
  for (let i = 0; i < received.rawHeaders.length; i += 2) pairs.push([canonical(received.rawHeaders[i]!), received.rawHeaders[i + 1]!]);
  return pairs;
}

/** The headers under a prefix the upstream received, in wire order. */
function underPrefix(received: Received, prefix: string): [string, string][] {
  return headerPairs(received).filter(([name]) => name.startsWith(prefix));
}

/** Posts a tools/call with the headers spelled exactly as given. */
async function post(gateway: GatewayUnderTest, headers: readonly string[], path = '/mcp'): Promise<Received> {
  const res = await rawRequest(gateway.url, { path, headers: ['Content-Type', 'application/json', ...headers], chunks: [BODY] });
  expect(res.status).toBe(200);
  return only(gateway.upstream);
}

/** The identity headers the gateway sends for `alice` when the client sends none (assertion value aside). */
async function baselineIdentityHeaders(): Promise<[string, string][]> {
  const gateway = await startGateway();
  const received = await post(gateway, []);
  return underPrefix(received, 'x-forwarded-user').map(([name, value]) => [name, name.endsWith('-assertion') ? '<token>' : value]);
}

describe('propagateIdentity strips client identity headers', () => {
  const forged = [
    'X-Forwarded-User-Admin',
    'true',
    'x-forwarded-user-admin',
    'true',
    'X_Forwarded_User_Admin',
    'true',
    'X-FORWARDED-USER-ID',
    'mallory',
    'x-Forwarded-user-Email',
    'mallory@evil.example',
    'X-Forwarded-User_Groups',
    'admins',
    'X-Forwarded-User-Roles',
    'root',
    'X-Forwarded-User-Assertion',
    'forged.assertion.value',
    'X-Forwarded-User-Superuser',
    'yes',
    'X-Forwarded-User-Claims-Signature',
    'forged',
    'X-Forwarded-User',
    'mallory',
    'X_FORWARDED_USER',
    'mallory',
  ];

  it('forwards exactly the identity headers it would send without them, whatever the client forged', async () => {
    const expected = await baselineIdentityHeaders();
    await closeAll();
    const gateway = await startGateway();
    const received = await post(gateway, forged);

    const identity = underPrefix(received, 'x-forwarded-user');
    expect(identity.map(([name, value]) => [name, name.endsWith('-assertion') ? '<token>' : value])).toEqual(expected);
    expect(identity.map(([name]) => name)).not.toContain('x-forwarded-user-superuser');
    expect(identity.map(([name]) => name)).not.toContain('x-forwarded-user');
    expect(identity.map(([name]) => name)).not.toContain('x-forwarded-user-claims-signature');
    expect(JSON.stringify(received.rawHeaders)).not.toMatch(/mallory|forged|admins|root/);
    const claims = await verifyAssertion(received.headers['x-forwarded-user-assertion']);
    expect(claims.sub).toBe(alice.id);
    expectBoundTo(claims, received);
  });

  it.each([
    ['X-Forwarded-User-Admin', ['X-Forwarded-User-Admin', 'true']],
    ['x-forwarded-user-admin (lower case)', ['x-forwarded-user-admin', 'true']],
    ['X_Forwarded_User_Admin (underscores)', ['X_Forwarded_User_Admin', 'true']],
    ['X-FORWARDED-USER-ADMIN (upper case)', ['X-FORWARDED-USER-ADMIN', 'true']],
    ['two copies under two spellings', ['X-Forwarded-User-Admin', 'true', 'x_forwarded_user_admin', 'true']],
  ])('never lets a forged %s change the -Admin value the upstream receives', async (_name, headers) => {
    const gateway = await startGateway();
    const received = await post(gateway, headers);
    expect(underPrefix(received, 'x-forwarded-user-admin')).toEqual([['x-forwarded-user-admin', 'false']]);
  });

  it('sends -Admin: true for an admin user even when the client forges false', async () => {
    const gateway = await startGateway({ user: { ...alice, isAdmin: true } });
    const received = await post(gateway, ['X-Forwarded-User-Admin', 'false', 'X_Forwarded_User_Admin', 'false']);
    expect(underPrefix(received, 'x-forwarded-user-admin')).toEqual([['x-forwarded-user-admin', 'true']]);
  });

  it('keeps -Admin false when claims leaves out isAdmin and the client forges X_Forwarded_User_Admin', async () => {
    const gateway = await startGateway({ options: { claims: ['email'] } });
    const received = await post(gateway, ['X_Forwarded_User_Admin', 'true']);
    expect(underPrefix(received, 'x-forwarded-user-admin')).toEqual([['x-forwarded-user-admin', 'false']]);
  });

  it('strips every spelling of a custom headerPrefix and sends its own identity under it', async () => {
    const gateway = await startGateway({ options: { headerPrefix: 'X-Auth-User' } });
    const received = await post(gateway, [
      'X-Auth-User-Admin',
      'true',
      'x_auth_user_id',
      'mallory',
      'X-AUTH-USER-ASSERTION',
      'forged',
      'X-Auth-User',
      'mallory',
      'X-Auth-User-Superuser',
      'yes',
    ]);
    const identity = underPrefix(received, 'x-auth-user');
    expect(identity.map(([name]) => name)).toEqual([
      'x-auth-user-assertion',
      'x-auth-user-id',
      'x-auth-user-email',
      'x-auth-user-full-name',
      'x-auth-user-groups',
      'x-auth-user-teams',
      'x-auth-user-roles',
      'x-auth-user-admin',
      'x-auth-user-auth-method',
      'x-auth-user-service-account',
      'x-auth-user-delegation-chain',
    ]);
    expect(Object.fromEntries(identity)).toMatchObject({ 'x-auth-user-id': 'alice@corp', 'x-auth-user-admin': 'false' });
    const claims = await verifyAssertion(received.headers['x-auth-user-assertion']);
    expectBoundTo(claims, received);
    expect(underPrefix(received, 'x-forwarded-user')).toEqual([]);
  });

  it("removes oauth2-proxy's plain X-Forwarded-User under a custom headerPrefix too", async () => {
    const gateway = await startGateway({ options: { headerPrefix: 'X-Auth-User' } });
    const received = await post(gateway, ['X-Forwarded-User', 'mallory', 'x_forwarded_user', 'mallory']);
    expect(headerPairs(received).filter(([name]) => name === 'x-forwarded-user')).toEqual([]);
    expect(received.headers['x-auth-user-id']).toBe('alice@corp');
  });

  it('removes the ContextForge X-Forwarded-User-* family under a custom headerPrefix too', async () => {
    const gateway = await startGateway({ options: { headerPrefix: 'X-Auth-User' } });
    const received = await post(gateway, [
      'X-Forwarded-User-Admin',
      'true',
      'x_forwarded_user_id',
      'root',
      'X-Forwarded-User-Claims-Signature',
      'abc',
    ]);
    expect(underPrefix(received, 'x-forwarded-user')).toEqual([]);
    expect(underPrefix(received, 'x_forwarded_user')).toEqual([]);
    expect(received.headers['x-auth-user-admin']).toBe('false');
  });
});

describe('propagateIdentity never forwards client credentials', () => {
  const credentials = [
    'Authorization',
    'Bearer client-token',
    'Cookie',
    'sid=client-session',
    'Proxy-Authorization',
    'Basic cHJveHk6cHc=',
    'X-Api-Key',
    'client-api-key',
    'X_Api_Key',
    'client-api-key-2',
    'Proxy_Authorization',
    'Basic cHJveHkyOnB3',
    'x_API_key',
    'client-api-key-3',
  ];

  it('removes Authorization, Cookie, Proxy-Authorization and X-Api-Key in every spelling', async () => {
    const gateway = await startGateway();
    const received = await post(gateway, [...credentials, 'X-Request-Id', 'req-1']);
    const names = headerPairs(received).map(([name]) => name);
    for (const name of ['authorization', 'cookie', 'proxy-authorization', 'x-api-key']) expect(names).not.toContain(name);
    expect(JSON.stringify(received.rawHeaders)).not.toMatch(/client-|cHJveHk/);
    expect(received.headers['x-request-id']).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expectBoundTo(await verifyAssertion(received.headers['x-forwarded-user-assertion']), received);
  });

  it('keeps a stripped header named in forwardCredentials and still removes every credential', async () => {
    const gateway = await startGateway({ options: { forwardCredentials: ['Remote-User'] } });
    const received = await post(gateway, [...credentials, 'Remote-User', 'proxy-user']);
    const pairs = headerPairs(received);
    expect(pairs.filter(([name]) => name === 'remote-user')).toEqual([['remote-user', 'proxy-user']]);
    const names = pairs.map(([name]) => name);
    for (const name of ['authorization', 'cookie', 'proxy-authorization', 'x-api-key']) expect(names).not.toContain(name);
  });

  it('removes the header named by apiKeyHeader in every spelling', async () => {
    const gateway = await startGateway({ options: { apiKeyHeader: 'X-Service-Key' } });
    const received = await post(gateway, ['X-Service-Key', 'k1', 'x_service_key', 'k2']);
    expect(headerPairs(received).map(([name]) => name)).not.toContain('x-service-key');
  });
});

describe('propagateIdentity removes credential query parameters', () => {
  it.each([
    ['/mcp?access_token=abc&x=1', '/mcp?x=1'],
    ['/mcp?x=1&API_KEY=abc&y=2', '/mcp?x=1&y=2'],
    ['/mcp?Token=abc', '/mcp'],
    ['/mcp?%61ccess_token=abc&x=1', '/mcp?x=1'],
    ['/mcp?access%5Ftoken=abc&x=1', '/mcp?x=1'],
    ['/mcp?ACCESS%5fTOKEN=abc&x=1', '/mcp?x=1'],
    ['/mcp?x=1&id_token=a&apikey=b&keep=token', '/mcp?x=1&keep=token'],
    ['/mcp?token=a&token=b&z=%20', '/mcp?z=%20'],
  ])('forwards %s as %s and binds the assertion to the stripped path', async (sent, forwarded) => {
    const gateway = await startGateway();
    const received = await post(gateway, [], sent);
    expect(received.url).toBe(forwarded);
    const claims = await verifyAssertion(received.headers['x-forwarded-user-assertion']);
    expect(claims.req.path).toBe(forwarded);
    expectBoundTo(claims, received);
  });

  it('leaves parameters that only resemble credentials', async () => {
    const gateway = await startGateway();
    const received = await post(gateway, [], '/mcp?tokens=1&my_token=2&x=access_token');
    expect(received.url).toBe('/mcp?tokens=1&my_token=2&x=access_token');
  });

  it('removes the names given in credentialQueryParams instead of the defaults', async () => {
    const gateway = await startGateway({ options: { credentialQueryParams: ['Sig'] } });
    const received = await post(gateway, [], '/mcp?sig=1&SIG=2&token=kept');
    expect(received.url).toBe('/mcp?token=kept');
  });
});

describe('propagateIdentity strips auth-proxy and hop-by-hop headers', () => {
  it('removes oauth2-proxy and remote-user headers in every spelling, keeping unrelated ones', async () => {
    const gateway = await startGateway();
    const received = await post(gateway, [
      'X-Forwarded-Email',
      'mallory@evil.example',
      'X_Forwarded_Email',
      'mallory@evil.example',
      'X-Forwarded-Groups',
      'admins',
      'X-Forwarded-Preferred-Username',
      'mallory',
      'X-Forwarded-Access-Token',
      'tok',
      'X-Auth-Request-User',
      'mallory',
      'x-auth-request-email',
      'mallory@evil.example',
      'X-Auth-Request-Groups',
      'admins',
      'Remote-User',
      'mallory',
      'X-Remote-User',
      'mallory',
      'X-Request-Id',
      'req-2',
    ]);
    const names = headerPairs(received).map(([name]) => name);
    for (const name of [
      'x-forwarded-email',
      'x-forwarded-groups',
      'x-forwarded-preferred-username',
      'x-forwarded-access-token',
      'x-auth-request-user',
      'x-auth-request-email',
      'x-auth-request-groups',
      'remote-user',
      'x-remote-user',
    ]) {
      expect(names).not.toContain(name);
    }
    expect(received.headers['x-request-id']).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it('removes a custom header the client lists in Connection and still sends its own assertion', async () => {
    const gateway = await startGateway();
    const received = await post(gateway, [
      'Connection',
      'close, X-Forwarded-User-Assertion, X-Custom',
      'X-Custom',
      'hop-only',
      'X-Forwarded-User-Assertion',
      'forged.assertion.value',
      'X-Other',
      'kept',
    ]);
    expect(received.headers['x-custom']).toBeUndefined();
    expect(received.headers['x-other']).toBe('kept');
    const assertions = underPrefix(received, 'x-forwarded-user-assertion');
    expect(assertions).toHaveLength(1);
    expectBoundTo(await verifyAssertion(assertions[0]![1]), received);
    for (const [name, value] of headerPairs(received)) {
      if (name === 'connection') expect(value).not.toMatch(/x-forwarded-user|x-custom/i);
    }
  });

  it("sends its own X-Request-Id, signed as request_id, whatever the client sends, lists in Connection or spells with '_'", async () => {
    const gateway = await startGateway();
    const received = await post(gateway, [
      'Connection',
      'keep-alive, X-Request-Id, x_request_id',
      'X-Request-Id',
      'client-chosen-1',
      'X_Request_Id',
      'client-chosen-2',
      'x-request-ID',
      'client-chosen-3',
    ]);
    const ids = headerPairs(received).filter(([name]) => name === 'x-request-id');
    expect(ids).toHaveLength(1);
    expect(JSON.stringify(received.rawHeaders)).not.toMatch(/client-chosen|x_request_id/i);
    const [[, id]] = ids as [[string, string]];
    expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    const claims = await verifyAssertion(received.headers['x-forwarded-user-assertion']);
    expect(claims.request_id).toBe(id);
    expectBoundTo(claims, received);
  });

  it('keeps Content-Type, Content-Length and Host even when the client lists them in Connection', async () => {
    const gateway = await startGateway();
    const received = await post(gateway, ['Connection', 'Content-Type, Content-Length, Host']);
    expect(received.headers['content-type']).toBe('application/json');
    expect(received.headers['content-length']).toBe(String(received.body.length));
    expect(received.headers.host).toBe(new URL(gateway.url).host);
    expect(JSON.parse(received.body.toString('utf8')).params.arguments).toEqual({ text: 'hi' });
    expectBoundTo(await verifyAssertion(received.headers['x-forwarded-user-assertion']), received);
  });

  it("sets its identity after the app's own proxyReq handlers", async () => {
    const gateway = await startGateway({
      options: {
        proxy: {
          on: {
            proxyReq: (proxyReq) => {
              proxyReq.setHeader('X-Forwarded-User-Admin', 'true');
              proxyReq.setHeader('X-Forwarded-User-Id', 'app-set');
              proxyReq.setHeader('X-Trace', 'app-set');
            },
          },
        },
      },
    });
    const received = await post(gateway, []);
    expect(underPrefix(received, 'x-forwarded-user-admin')).toEqual([['x-forwarded-user-admin', 'false']]);
    expect(underPrefix(received, 'x-forwarded-user-id')).toEqual([['x-forwarded-user-id', 'alice@corp']]);
    expect(received.headers['x-trace']).toBe('app-set');
  });

  it.each([
    ['listed in Connection', ['Connection', 'Upgrade, HTTP2-Settings', 'Upgrade', 'h2c', 'HTTP2-Settings', 'AAMAAABkAAQAAP__']],
    ['not listed in Connection', ['Upgrade', 'websocket', 'TE', 'trailers', 'Keep-Alive', 'timeout=5', 'Proxy-Connection', 'keep-alive']],
  ])('drops Upgrade and the other hop-by-hop headers when %s', async (_name, headers) => {
    const gateway = await startGateway();
    const received = await post(gateway, headers);
    const names = headerPairs(received).map(([name]) => name);
    for (const name of ['upgrade', 'http2-settings', 'te', 'keep-alive', 'proxy-connection']) expect(names).not.toContain(name);
    for (const [name, value] of headerPairs(received)) if (name === 'connection') expect(value).not.toMatch(/upgrade/i);
    expectBoundTo(await verifyAssertion(received.headers['x-forwarded-user-assertion']), received);
  });

  it('forwards a request sent with Expect: 100-continue, with identity and without Expect', async () => {
    const gateway = await startGateway({ options: { metaCreation: 'always' } });
    const received = await post(gateway, ['Expect', '100-continue']);
    expect(received.headers.expect).toBeUndefined();
    expect(received.headers['x-forwarded-user-id']).toBe('alice@corp');
    const claims = await verifyAssertion(received.headers['x-forwarded-user-assertion']);
    expectBoundTo(claims, received);
    expect(JSON.parse(received.body.toString('utf8')).params._meta['mcp-identity/assertion']).toBe(
      received.headers['x-forwarded-user-assertion'],
    );
  });
});
