/**
 * The gateway as an OAuth 2.1 protected resource (RFC 9728): one {@link ProtectedResource} per
 * MCP mount, its metadata document served at the well-known URLs MCP clients request, and the
 * `WWW-Authenticate` challenges that point clients at it. The `resource` is built from a
 * configured public URL, never from a request's `Host`.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { httpsUrl, objectOption, onlyKnownKeys, optionKeys } from '@mcp-identity/core/internal';

/** The well-known path prefix of RFC 9728. */
export const PROTECTED_RESOURCE_WELL_KNOWN = '/.well-known/oauth-protected-resource';

/** Options of {@link protectedResource}. */
export interface ProtectedResourceOptions {
  /**
   * The gateway's public base URL, as MCP clients reach it (behind a reverse proxy: the proxy's
   * URL), e.g. `"https://mcp.example.com"`. `https:`, or `http:` on a loopback host. Required.
   */
  readonly publicUrl: string | URL;
  /**
   * Path of the MCP endpoint under `publicUrl`, e.g. `"/mcp/notes"`. The resource identifier is
   * `publicUrl` + `path`. Default `""`: the resource is `publicUrl` itself (one resource for every
   * mount, its document also served at the root well-known URL).
   */
  readonly path?: string;
  /** Issuer identifiers of the authorization servers that issue tokens for this resource. Required, at least one. */
  readonly authorizationServers: readonly string[];
  /** `scopes_supported` of the document. Default: `requiredScopes` when set, else left out. */
  readonly scopesSupported?: readonly string[];
  /**
   * Scopes every OAuth access token must carry here; a token without one of them is answered
   * 403 `insufficient_scope` with a step-up challenge. Default none.
   */
  readonly requiredScopes?: readonly string[];
  /** Human-readable `resource_name`. Default none. */
  readonly resourceName?: string;
  /** `resource_documentation`: a URL of human-readable documentation. Default none. */
  readonly resourceDocumentation?: string;
  /**
   * Further token `aud` values that mean this resource, for authorization servers that cannot put
   * the resource URL in `aud` (Entra ID's `api://…` application ID URI or client id, an Auth0 API
   * identifier). Default none: only `resource`.
   */
  readonly acceptedAudiences?: readonly string[];
}

/** The RFC 9728 document as served. */
export interface ProtectedResourceMetadata {
  readonly resource: string;
  readonly authorization_servers: readonly string[];
  readonly scopes_supported?: readonly string[];
  readonly bearer_methods_supported: readonly string[];
  readonly resource_name?: string;
  readonly resource_documentation?: string;
}

/** A validated protected resource: pass it to `authenticate` and `protectedResourceMetadata`. */
export interface ProtectedResource {
  /** The resource identifier (RFC 8707): the `aud` tokens must carry. */
  readonly resource: string;
  /** The absolute URL of the metadata document, as put in `resource_metadata`. */
  readonly metadataUrl: string;
  /** The request path the document is served at. */
  readonly metadataPath: string;
  readonly requiredScopes: readonly string[];
  /** Every `aud` value accepted as this resource: `resource` first, then `acceptedAudiences`. */
  readonly audiences: readonly string[];
  /** The scopes named in the 401 challenge: `requiredScopes`, else `scopesSupported`. */
  readonly challengeScopes: readonly string[];
  readonly metadata: ProtectedResourceMetadata;
}

/** `Array.isArray` without narrowing (it narrows a readonly array to `any[]`). */
const isList = (value: unknown): boolean => Array.isArray(value);

// RFC 6749 §3.3 scope-token.
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

function parseUrl(value: unknown, option: string): URL {
  const url = httpsUrl(value, option);
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '')
    throw new TypeError(`${option} must have no query, fragment or credentials`);
  return url;
}

function scopeList(value: unknown, option: string): readonly string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.some((scope) => typeof scope !== 'string' || !SCOPE_TOKEN.test(scope)))
    throw new TypeError(`${option} must be an array of OAuth scope tokens (no spaces or quotes)`);
  return Object.freeze([...new Set(value as string[])]);
}

function optionalText(value: unknown, option: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^[\x20-\x7e\u00a0-\uffff]{1,256}$/.test(value))
    throw new TypeError(`${option} must be 1-256 characters`);
  return value;
}

/** Every key of {@link ProtectedResourceOptions} (the compiler checks the list is complete). */
const OPTION_KEYS = optionKeys<ProtectedResourceOptions>()([
  'publicUrl',
  'path',
  'authorizationServers',
  'scopesSupported',
  'requiredScopes',
  'resourceName',
  'resourceDocumentation',
  'acceptedAudiences',
]);

/**
 * Describes one protected resource (an MCP endpoint of the gateway). Throws a `TypeError`
 * naming the option on bad configuration.
 * @param options - Public URL, path, authorization servers, scopes and the resource's name and documentation.
 * @returns The resource, for `OAuthTokenStrategy`'s `audience`, `authenticate`'s `protectedResource` and `protectedResourceMetadata`.
 * @example
 * const notes = protectedResource({
 *   publicUrl: 'https://mcp.example.com',
 *   path: '/mcp/notes',
 *   authorizationServers: ['https://login.example.com/realms/mcp'],
 *   requiredScopes: ['notes:read'],
 *   resourceName: 'Notes',
 * });
 */
export function protectedResource(options: ProtectedResourceOptions): ProtectedResource {
  onlyKnownKeys(objectOption(options, 'options'), 'protectedResource', OPTION_KEYS);
  const base = parseUrl(options.publicUrl, 'publicUrl');
  const path = options.path ?? '';
  if (typeof path !== 'string' || (path !== '' && !/^(\/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)+$/.test(path)))
    throw new TypeError('path must be "" or an absolute path such as "/mcp/notes" (no trailing slash, no query)');
  const pathname = `${base.pathname.replace(/\/+$/, '')}${path}`;
  const resource = `${base.origin}${pathname}`;
  const servers = options.authorizationServers;
  if (!Array.isArray(servers) || servers.length === 0)
    throw new TypeError('authorizationServers must list at least one authorization server issuer URL');
  const authorizationServers = Object.freeze(
    servers.map((server: unknown, index) => {
      parseUrl(server, `authorizationServers[${index}]`);
      // The issuer identifier is compared as a string by clients: keep it exactly as configured.
      return server as string;
    }),
  );
  const requiredScopes = scopeList(options.requiredScopes, 'requiredScopes') ?? Object.freeze([]);
  const scopesSupported = scopeList(options.scopesSupported, 'scopesSupported') ?? (requiredScopes.length > 0 ? requiredScopes : undefined);
  const missing = requiredScopes.filter((scope) => scopesSupported !== undefined && !scopesSupported.includes(scope));
  if (missing.length > 0) throw new TypeError(`scopesSupported must include every requiredScopes entry (missing ${missing.join(' ')})`);
  const resourceName = optionalText(options.resourceName, 'resourceName');
  const documentation =
    options.resourceDocumentation === undefined ? undefined : parseUrl(options.resourceDocumentation, 'resourceDocumentation').href;
  const extra = options.acceptedAudiences ?? [];
  if (!Array.isArray(extra) || extra.some((entry) => typeof entry !== 'string' || entry.length === 0 || entry.length > 1024))
    throw new TypeError('acceptedAudiences must be an array of non-empty strings');
  const metadataPath = `${PROTECTED_RESOURCE_WELL_KNOWN}${pathname}`;
  const metadata: ProtectedResourceMetadata = Object.freeze({
    resource,
    authorization_servers: authorizationServers,
    ...(scopesSupported === undefined ? {} : { scopes_supported: scopesSupported }),
    bearer_methods_supported: Object.freeze(['header']),
    ...(resourceName === undefined ? {} : { resource_name: resourceName }),
    ...(documentation === undefined ? {} : { resource_documentation: documentation }),
  });
  return Object.freeze({
    resource,
    metadataUrl: `${base.origin}${metadataPath}`,
    metadataPath,
    requiredScopes,
    audiences: Object.freeze([...new Set([resource, ...(extra as string[])])]),
    challengeScopes: requiredScopes.length > 0 ? requiredScopes : (scopesSupported ?? Object.freeze([])),
    metadata,
  });
}

/**
 * Serves the RFC 9728 documents of the given resources at their path-inserted well-known URLs
 * (`/.well-known/oauth-protected-resource/mcp/notes`), and at the root one
 * (`/.well-known/oauth-protected-resource`) when every resource is the same. Mount it at the
 * application root, before authentication. Documents are public (CORS `*`), GET and HEAD only.
 * @param resources - Every resource built by `protectedResource()`.
 * @returns The Express middleware; requests it does not serve go to `next()`.
 * @example
 * app.use(protectedResourceMetadata([notes, reports]));
 */
export function protectedResourceMetadata(resources: readonly ProtectedResource[]): RequestHandler {
  const list: readonly ProtectedResource[] = resources;
  if (!isList(list) || list.length === 0) throw new TypeError('resources must list at least one protectedResource()');
  const documents = new Map<string, string>();
  for (const [index, entry] of list.entries()) {
    if (typeof entry !== 'object' || entry === null || typeof entry.metadataPath !== 'string')
      throw new TypeError(`resources[${index}] must be built by protectedResource()`);
    const body = JSON.stringify(entry.metadata);
    const existing = documents.get(entry.metadataPath);
    if (existing !== undefined && existing !== body)
      throw new TypeError(`resources[${index}]: ${entry.resource} is described twice with different metadata`);
    documents.set(entry.metadataPath, body);
  }
  const shared = new Set(list.map((entry) => entry.resource)).size === 1 ? documents.values().next().value : undefined;
  if (shared !== undefined && !documents.has(PROTECTED_RESOURCE_WELL_KNOWN)) documents.set(PROTECTED_RESOURCE_WELL_KNOWN, shared);

  return function protectedResourceMetadataMiddleware(req: Request, res: Response, next: NextFunction): void {
    // req.path is what the app sees under its mount; no normalization of hostile spellings beyond Express's own.
    const body = documents.get(req.path);
    if (body === undefined) {
      next();
      return;
    }
    res.setHeader('access-control-allow-origin', '*');
    if (req.method === 'OPTIONS') {
      res.setHeader('access-control-allow-methods', 'GET, HEAD, OPTIONS');
      res.setHeader('access-control-allow-headers', 'mcp-protocol-version');
      res.status(204).end();
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD, OPTIONS');
      res.status(405).end();
      return;
    }
    res.setHeader('cache-control', 'public, max-age=300');
    res.type('application/json').send(body);
  };
}

/** The `WWW-Authenticate` challenges for a resource, built once. */
export interface ResourceChallenges {
  /** 401, no or a non-bearer credential. */
  readonly missing: string;
  /** 401, a bearer token was presented and refused. */
  readonly invalidToken: string;
  /** 403, the token lacks a required scope. */
  readonly insufficientScope: string;
}

/** Builds the challenges of {@link ResourceChallenges} (RFC 6750 §3, RFC 9728 §5.1). */
export function resourceChallenges(resource: ProtectedResource): ResourceChallenges {
  const metadata = `resource_metadata="${resource.metadataUrl}"`;
  const scope = resource.challengeScopes.length > 0 ? `, scope="${resource.challengeScopes.join(' ')}"` : '';
  return Object.freeze({
    missing: `Bearer ${metadata}${scope}`,
    invalidToken: `Bearer error="invalid_token", ${metadata}${scope}`,
    insufficientScope: `Bearer error="insufficient_scope", scope="${resource.requiredScopes.join(' ')}", ${metadata}`,
  });
}
