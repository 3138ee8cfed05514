/**
 * The token exchange client (RFC 8693), framework-free: finds the token endpoint (RFC 8414 /
 * OpenID Connect discovery, or configured), authenticates the gateway as a client and trades
 * the user's access token for one for the configured target. Failures become stable errors;
 * nothing of the authorization server's answer reaches a client, and no token is ever logged.
 */
import { randomUUID } from 'node:crypto';
import { decodeJwt, SignJWT } from 'jose';
import { IdentityError } from '@mcp-identity/core/internal';
import { ACCESS_TOKEN_TYPE, endpointUrl, TOKEN_EXCHANGE_GRANT } from './options.js';
import type { TokenExchangeConfig } from './options.js';

/** An exchanged token. */
export interface ExchangedToken {
  readonly token: string;
  /** When it expires, in milliseconds since the epoch: from `expires_in`, else the JWT's `exp`; undefined when unknown. */
  readonly expiresAt: number | undefined;
}

/** Exchanges one subject token. `signal` bounds the whole operation. */
export type ExchangeToken = (subjectToken: string, signal: AbortSignal, challenge: string) => Promise<ExchangedToken>;

const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
const MAX_TOKEN_LENGTH = 16 * 1024;
const MAX_RESPONSE = 64 * 1024;
const ERROR_CODE = /^[\x20-\x21\x23-\x5b\x5d-\x7e]{1,64}$/;

/** Raised for an authorization server that is unreachable or answers unusably. */
function unavailable(message: string, cause?: unknown): IdentityError {
  return new IdentityError('token_exchange_unavailable', 'the authorization server could not issue a token for this upstream', {
    cause: cause ?? new Error(message),
  });
}

function isAbort(error: unknown, signal: AbortSignal): boolean {
  return signal.aborted || (error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError'));
}

function timeout(cause: unknown): IdentityError {
  return new IdentityError('token_exchange_timeout', 'the authorization server did not answer in time', { cause });
}

async function readJson(response: Response): Promise<Record<string, unknown> | undefined> {
  const text = await response.text();
  if (text.length > MAX_RESPONSE) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Builds the exchange function of one configuration. */
export function createExchangeClient(config: TokenExchangeConfig): ExchangeToken {
  let endpoint: Promise<string> | undefined = config.tokenEndpoint === undefined ? undefined : Promise.resolve(config.tokenEndpoint);

  async function discover(issuer: string, signal: AbortSignal): Promise<string> {
    const url = new URL(issuer);
    const path = url.pathname.replace(/\/$/, '');
    // RFC 8414 path insertion first, then OpenID Connect Discovery (appended).
    for (const candidate of [
      `${url.origin}/.well-known/oauth-authorization-server${path}`,
      `${url.origin}${path}/.well-known/openid-configuration`,
    ]) {
      const response = await config.fetch(candidate, { headers: { accept: 'application/json' }, redirect: 'error', signal });
      if (!response.ok) {
        await response.body?.cancel();
        continue;
      }
      const document = await readJson(response);
      if (document?.issuer !== issuer || typeof document.token_endpoint !== 'string')
        throw new Error(`the metadata of ${issuer} does not match it or names no token_endpoint`);
      const grants = document.grant_types_supported;
      if (Array.isArray(grants) && !grants.includes(TOKEN_EXCHANGE_GRANT))
        config.logger.warn(`mcp-identity: ${issuer} does not list the token-exchange grant in grant_types_supported; trying anyway`);
      return endpointUrl(document.token_endpoint, 'token_endpoint');
    }
    throw new Error(`no authorization server metadata found for ${issuer}`);
  }

  function tokenEndpoint(signal: AbortSignal): Promise<string> {
    if (endpoint === undefined) {
      const found = discover(config.issuer as string, signal);
      endpoint = found;
      // A failed discovery is retried by the next exchange.
      found.catch(() => {
        if (endpoint === found) endpoint = undefined;
      });
    }
    return endpoint;
  }

  async function clientAssertion(audience: string): Promise<string> {
    const settings = config.assertionKey;
    if (settings === undefined) throw new Error('no assertion key');
    const now = Math.floor(config.clock() / 1000);
    return new SignJWT({})
      .setProtectedHeader({ alg: settings.alg, typ: 'JWT', ...(settings.kid === undefined ? {} : { kid: settings.kid }) })
      .setIssuer(config.clientId)
      .setSubject(config.clientId)
      .setAudience(audience)
      .setJti(randomUUID())
      .setIssuedAt(now)
      .setExpirationTime(now + 60)
      .sign(await settings.key);
  }

  return async function exchange(subjectToken, signal, challenge) {
    let url: string;
    const form = new URLSearchParams({
      grant_type: TOKEN_EXCHANGE_GRANT,
      subject_token: subjectToken,
      subject_token_type: ACCESS_TOKEN_TYPE,
      requested_token_type: config.requestedTokenType,
    });
    for (const audience of config.audience) form.append('audience', audience);
    for (const resource of config.resource) form.append('resource', resource);
    if (config.scope !== undefined) form.set('scope', config.scope);
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
    let response: Response;
    try {
      url = await tokenEndpoint(signal);
      if (config.actorToken !== undefined) {
        form.set('actor_token', await config.actorToken());
        form.set('actor_token_type', config.actorTokenType);
      }
      if (config.authMethod === 'client_secret_basic') {
        // RFC 6749 §2.3.1: both parts form-encoded before Base64.
        const pair = `${formEncode(config.clientId)}:${formEncode(config.clientSecret as string)}`;
        headers.authorization = `Basic ${Buffer.from(pair).toString('base64')}`;
      } else if (config.authMethod === 'client_secret_post') {
        form.set('client_id', config.clientId);
        form.set('client_secret', config.clientSecret as string);
      } else {
        form.set('client_id', config.clientId);
        form.set('client_assertion_type', 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
        form.set('client_assertion', await clientAssertion(url));
      }
      response = await config.fetch(url, { method: 'POST', headers, body: form.toString(), redirect: 'error', signal });
    } catch (error) {
      if (isAbort(error, signal)) throw timeout(error);
      throw unavailable('the authorization server is unreachable', error);
    }
    let body: Record<string, unknown> | undefined;
    try {
      body = await readJson(response);
    } catch (error) {
      if (isAbort(error, signal)) throw timeout(error);
      throw unavailable('the token response could not be read', error);
    }
    if (!response.ok) {
      const code = typeof body?.error === 'string' && ERROR_CODE.test(body.error) ? body.error : undefined;
      if (response.status === 400 && code === 'invalid_grant') {
        // The user's token is revoked, expired or not exchangeable: the client signs in again.
        throw new IdentityError('token_exchange_rejected', 'the access token can no longer be used for this upstream; sign in again', {
          headers: { 'www-authenticate': challenge },
        });
      }
      // The gateway's own configuration at the authorization server (client, target, scope): for the operator only.
      config.logger.warn(
        `mcp-identity: token exchange for ${config.target} refused by the authorization server: HTTP ${response.status}${code === undefined ? '' : ` ${code}`}`,
      );
      throw unavailable(`the token endpoint answered ${response.status}${code === undefined ? '' : ` ${code}`}`);
    }
    const token = body?.access_token;
    if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH || !B64TOKEN.test(token))
      throw unavailable('the token response carries no usable access_token');
    const type = typeof body?.token_type === 'string' ? body.token_type.toLowerCase() : '';
    if (type !== 'bearer' && !(type === 'n_a' && config.requestedTokenType !== ACCESS_TOKEN_TYPE))
      throw unavailable('the token response is not a bearer token');
    return { token, expiresAt: expiryOf(body as Record<string, unknown>, token, config.clock()) };
  };
}

function formEncode(value: string): string {
  return encodeURIComponent(value).replace(/%20/g, '+');
}

function expiryOf(body: Record<string, unknown>, token: string, now: number): number | undefined {
  const expiresIn = body.expires_in;
  if (typeof expiresIn === 'number' && Number.isFinite(expiresIn) && expiresIn > 0) return now + expiresIn * 1000;
  if (token.split('.').length === 3) {
    try {
      const { exp } = decodeJwt(token);
      if (typeof exp === 'number') return exp * 1000;
    } catch {
      return undefined;
    }
  }
  return undefined;
}
