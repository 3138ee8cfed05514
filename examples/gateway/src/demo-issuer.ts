import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';

/** A throw-away JWT issuer for the demo: a fresh HS256 secret at every start. */
export interface DemoIssuer {
  readonly secret: Uint8Array;
  readonly issuer: string;
  readonly audience: string;
  /** Signs a bearer token for the gateway, valid 10 minutes. */
  sign(claims: Record<string, unknown>): Promise<string>;
}

export function createDemoIssuer(issuer = 'urn:example:demo-idp', audience = 'urn:example:gateway'): DemoIssuer {
  const secret = new Uint8Array(randomBytes(32));
  return {
    secret,
    issuer,
    audience,
    sign: (claims) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer(issuer)
        .setAudience(audience)
        .setIssuedAt()
        .setExpirationTime('10m')
        .sign(secret),
  };
}
