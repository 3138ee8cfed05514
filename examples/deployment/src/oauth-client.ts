/**
 * An MCP client that logs in the way Claude, VS Code or the Inspector do, given only the
 * gateway's MCP URL: the MCP SDK's `Client` with an `OAuthClientProvider` discovers the
 * authorization server from the gateway's 401 and metadata, registers itself, and asks for an
 * authorization code with PKCE and a resource indicator. Where a person would sign in in a
 * browser, {@link signIn} fills the authorization server's own login and consent forms over
 * plain HTTP, following redirects with a cookie jar.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { OAuthClientProvider, OAuthDiscoveryState } from '@modelcontextprotocol/sdk/client/auth.js';
import type { OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';

/** Where the authorization server sends the code; nothing listens there, the redirect is read instead. */
export const DEMO_REDIRECT_URI = 'http://127.0.0.1:1/oauth/callback';

/** An in-memory `OAuthClientProvider`: what a desktop MCP client keeps in its settings. */
export class DemoOAuthProvider implements OAuthClientProvider {
  private _client: OAuthClientInformationMixed | undefined;
  private _tokens: OAuthTokens | undefined;
  private _verifier = '';
  private _discovery: OAuthDiscoveryState | undefined;
  /** The last authorization URL the SDK asked to open in a browser. */
  authorizationUrl: URL | undefined;

  get redirectUrl(): string {
    return DEMO_REDIRECT_URI;
  }
  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: 'mcp-identity demo client',
      redirect_uris: [DEMO_REDIRECT_URI],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      // A native (desktop) client: its loopback redirect URI is allowed over http.
      application_type: 'native',
    } as OAuthClientMetadata;
  }
  clientInformation(): OAuthClientInformationMixed | undefined {
    return this._client;
  }
  saveClientInformation(info: OAuthClientInformationMixed): void {
    this._client = info;
  }
  tokens(): OAuthTokens | undefined {
    return this._tokens;
  }
  saveTokens(tokens: OAuthTokens): void {
    this._tokens = tokens;
  }
  redirectToAuthorization(url: URL): void {
    this.authorizationUrl = url;
  }
  saveCodeVerifier(verifier: string): void {
    this._verifier = verifier;
  }
  codeVerifier(): string {
    return this._verifier;
  }
  saveDiscoveryState(state: OAuthDiscoveryState): void {
    this._discovery = state;
  }
  discoveryState(): OAuthDiscoveryState | undefined {
    return this._discovery;
  }
}

/**
 * Signs in at the authorization server as a browser would: opens the authorization URL, posts
 * the login form, then the consent form, following redirects (with cookies) until the
 * redirect to the client's redirect URI, and returns its `code`.
 */
export async function signIn(authorizationUrl: URL, username: string, password: string): Promise<string> {
  const cookies = new Map<string, string>();
  let url = authorizationUrl.href;
  let method = 'GET';
  let body: string | undefined;
  for (let step = 0; step < 20; step++) {
    const response = await fetch(url, {
      method,
      redirect: 'manual',
      headers: {
        ...(cookies.size === 0 ? {} : { cookie: [...cookies].map(([name, value]) => `${name}=${value}`).join('; ') }),
        ...(body === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' }),
      },
      ...(body === undefined ? {} : { body }),
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const index = pair.indexOf('=');
      if (index > 0) cookies.set(pair.slice(0, index).trim(), pair.slice(index + 1).trim());
    }
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location !== null) {
      const next = new URL(location, url);
      if (next.href.startsWith(DEMO_REDIRECT_URI)) {
        const code = next.searchParams.get('code');
        if (code === null) throw new Error(`the authorization server refused: ${next.searchParams.get('error') ?? 'no code'}`);
        return code;
      }
      url = next.href;
      method = 'GET';
      body = undefined;
      continue;
    }
    const html = await response.text();
    if (!response.ok) throw new Error(`the authorization server answered ${response.status}`);
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
    if (action === undefined) throw new Error('the authorization server page has no form');
    const fields = /name="password"/.test(html) ? new URLSearchParams({ username, password }) : new URLSearchParams();
    url = new URL(action.replaceAll('&amp;', '&'), url).href;
    method = 'POST';
    body = fields.toString();
  }
  throw new Error('too many redirects during sign-in');
}

/** A connected client and the provider holding its token. */
export interface OAuthConnection {
  readonly client: Client;
  readonly provider: DemoOAuthProvider;
}

/**
 * Connects to an MCP URL like a real client: tries, gets the 401, discovers, registers, signs
 * the user in ({@link signIn}), exchanges the code and connects again with the token.
 */
export async function connectWithOAuth(mcpUrl: string, username: string, password: string): Promise<OAuthConnection> {
  const provider = new DemoOAuthProvider();
  const client = new Client({ name: 'mcp-identity-oauth-demo', version: '0.1.0' });
  const first = new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider });
  try {
    await client.connect(first);
    return { client, provider };
  } catch (error) {
    if (!(error instanceof UnauthorizedError) || provider.authorizationUrl === undefined) throw error;
  }
  await first.finishAuth(await signIn(provider.authorizationUrl, username, password));
  await client.connect(new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider }));
  return { client, provider };
}
