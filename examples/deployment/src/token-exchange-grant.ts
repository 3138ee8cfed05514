/**
 * The example authorization server's token exchange (RFC 8693), added to oidc-provider with
 * its custom grant API: a client allowed the grant trades a user's access token issued here for
 * an audience-restricted JWT for one registered API, whose `act` claim names that client.
 */
import { createLocalJWKSet, jwtVerify } from 'jose';
import type { JWK } from 'jose';
import { errors } from 'oidc-provider';
import type Provider from 'oidc-provider';
import type { GrantContext, ResourceServer } from 'oidc-provider';

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

/** What the grant needs of the server. */
export interface TokenExchangeGrantOptions {
  /** The public signing key of this server: subject tokens are verified with it. */
  readonly publicJwk: JWK;
  /** The client ids allowed the grant. */
  readonly clients: ReadonlySet<string>;
  /** The resource server of a target (a `resource` or `audience` value), or undefined when unknown. */
  readonly resourceServer: (target: string) => ResourceServer | undefined;
  /** `jti`s of access tokens revoked here: exchanging one answers `invalid_grant`. */
  readonly revoked: ReadonlySet<string>;
}

function one(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (Array.isArray(value)) {
    if (value.length !== 1) throw new errors.InvalidTarget(`exactly one ${name} is supported`);
    value = value[0];
  }
  if (typeof value !== 'string') throw new errors.InvalidRequest(`${name} must be a string`);
  return value;
}

/** Registers the grant on `provider`. */
export function registerTokenExchange(provider: Provider, options: TokenExchangeGrantOptions): void {
  const keys = createLocalJWKSet({ keys: [options.publicJwk] });
  provider.registerGrantType(
    TOKEN_EXCHANGE_GRANT,
    async (ctx: GrantContext) => {
      const { params, client } = ctx.oidc;
      if (!options.clients.has(client.clientId)) throw new errors.UnauthorizedClient('this client may not exchange tokens');
      if (params.subject_token_type !== ACCESS_TOKEN_TYPE) throw new errors.InvalidRequest('subject_token_type must be an access token');
      if (params.requested_token_type !== undefined && params.requested_token_type !== ACCESS_TOKEN_TYPE)
        throw new errors.InvalidRequest('only access tokens are issued');
      if (typeof params.subject_token !== 'string') throw new errors.InvalidRequest('subject_token is required');
      let subject: { sub?: unknown; jti?: unknown };
      try {
        ({ payload: subject } = await jwtVerify(params.subject_token, keys, { issuer: provider.issuer, typ: 'at+jwt' }));
      } catch {
        throw new errors.InvalidGrant('the subject token is invalid or expired');
      }
      if (typeof subject.sub !== 'string' || (typeof subject.jti === 'string' && options.revoked.has(subject.jti)))
        throw new errors.InvalidGrant('the subject token was revoked');
      const target = one(params.resource, 'resource') ?? one(params.audience, 'audience');
      const server = target === undefined ? undefined : options.resourceServer(target);
      if (target === undefined || server === undefined) throw new errors.InvalidTarget('unknown target');
      const offered = server.scope.split(' ');
      const requested = typeof params.scope === 'string' ? params.scope.split(' ') : offered;
      if (requested.some((scope) => !offered.includes(scope)))
        throw new errors.InvalidScope('a requested scope is not offered', params.scope as string);
      const token = new provider.AccessToken({ accountId: subject.sub, client, scope: requested.join(' '), gty: 'token-exchange' });
      token.resourceServer = new provider.ResourceServer(target, server);
      const value = await token.save();
      ctx.body = {
        access_token: value,
        issued_token_type: ACCESS_TOKEN_TYPE,
        token_type: 'Bearer',
        expires_in: token.expiration,
        scope: token.scope,
      };
    },
    ['subject_token', 'subject_token_type', 'actor_token', 'actor_token_type', 'requested_token_type', 'audience', 'resource', 'scope'],
    ['audience', 'resource'],
  );
}
