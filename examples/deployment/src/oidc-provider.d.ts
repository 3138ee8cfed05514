/**
 * The small part of oidc-provider's API the example uses (the package ships no types and
 * `@types/oidc-provider` lags its major versions).
 */
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  export type AdapterPayload = Record<string, unknown> & { grantId?: string; userCode?: string; uid?: string; id?: string };
  export interface Adapter {
    upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void>;
    find(id: string): Promise<AdapterPayload | undefined>;
    findByUserCode(userCode: string): Promise<AdapterPayload | undefined>;
    findByUid(uid: string): Promise<AdapterPayload | undefined>;
    consume(id: string): Promise<void>;
    destroy(id: string): Promise<void>;
    revokeByGrantId(grantId: string): Promise<void>;
  }
  export type KoaContextWithOIDC = { type: string; body: unknown } & Record<string, unknown>;
  export interface ResourceServer {
    scope: string;
    audience?: string;
    accessTokenTTL?: number;
    accessTokenFormat?: 'jwt' | 'opaque';
    jwt?: { sign?: { alg: string } };
  }
  export interface Account {
    accountId: string;
    claims(): Record<string, unknown>;
  }
  export interface Configuration {
    adapter?: new (model: string) => Adapter;
    jwks?: { keys: Record<string, unknown>[] };
    cookies?: { keys: string[] };
    scopes?: string[];
    claims?: Record<string, string[]>;
    pkce?: { required?: () => boolean };
    clientBasedCORS?: (ctx: unknown, origin: string, client: unknown) => boolean;
    features?: Record<string, unknown> & {
      resourceIndicators?: {
        enabled: boolean;
        defaultResource?: (ctx: unknown, client: unknown, oneOf?: string[]) => string | string[] | Promise<string | string[]>;
        useGrantedResource?: (ctx: unknown, model: unknown) => boolean;
        getResourceServerInfo?: (ctx: unknown, resourceIndicator: string, client: unknown) => ResourceServer | Promise<ResourceServer>;
      };
    };
    extraTokenClaims?: (
      ctx: unknown,
      token: { accountId?: string; gty?: string; clientId?: string },
    ) => Record<string, unknown> | undefined;
    clients?: Record<string, unknown>[];
    findAccount?: (ctx: unknown, sub: string, token?: unknown) => Account | undefined | Promise<Account | undefined>;
    interactions?: { url: (ctx: unknown, interaction: { uid: string }) => string };
    ttl?: Record<string, number>;
    renderError?: (ctx: KoaContextWithOIDC, out: Record<string, unknown>, error: unknown) => void;
  }
  export interface InteractionDetails {
    uid: string;
    prompt: { name: string; details: Record<string, unknown> };
    params: Record<string, unknown>;
    session?: { accountId: string };
    grantId?: string;
  }
  export class Grant {
    constructor(properties: { accountId: string; clientId: string });
    addOIDCScope(scope: string): void;
    addOIDCClaims(claims: string[]): void;
    addResourceScope(resource: string, scope: string): void;
    save(): Promise<string>;
    static find(id: string): Promise<Grant | undefined>;
  }
  export const errors: {
    InvalidTarget: new (description?: string) => Error;
    InvalidRequest: new (description?: string) => Error;
    InvalidGrant: new (description?: string) => Error;
    InvalidScope: new (description?: string, scope?: string) => Error;
    UnauthorizedClient: new (description?: string) => Error;
  };
  /** The token endpoint context a grant handler gets. */
  export interface GrantContext {
    oidc: { params: Record<string, unknown>; client: { clientId: string } };
    body: unknown;
  }
  export class AccessToken {
    constructor(properties: { accountId: string; client: unknown; scope?: string; gty?: string });
    resourceServer: unknown;
    readonly expiration: number;
    scope?: string;
    save(): Promise<string>;
  }
  export class ResourceServerModel {
    constructor(identifier: string, info: ResourceServer);
    readonly identifier: string;
  }
  export default class Provider {
    constructor(issuer: string, configuration: Configuration);
    readonly Grant: typeof Grant;
    readonly AccessToken: typeof AccessToken;
    readonly ResourceServer: typeof ResourceServerModel;
    readonly issuer: string;
    registerGrantType(name: string, handler: (ctx: GrantContext) => Promise<void>, params?: string[], dupes?: string[]): void;
    on(event: 'grant.success', listener: (ctx: GrantContext) => void): void;
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<InteractionDetails>;
    interactionFinished(
      req: IncomingMessage,
      res: ServerResponse,
      result: Record<string, unknown>,
      options?: { mergeWithLastSubmission?: boolean },
    ): Promise<void>;
  }
}
