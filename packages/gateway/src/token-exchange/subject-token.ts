/**
 * The user's raw access token, kept for the duration of one request so an upstream with
 * `tokenExchange` can exchange it. It lives in a WeakMap keyed by the request object: never on
 * `UserContext`, never on an enumerable property, never forwarded, never audited, and gone with
 * the request.
 */
import type { IncomingMessage } from 'node:http';

/** What `authenticate` records for an OAuth access-token login. */
export interface SubjectToken {
  /** The access token the client presented (already verified by the OAuth strategy). */
  readonly token: string;
  /** The `WWW-Authenticate` challenge that sends the client to re-authenticate (the mount's protected-resource challenge when configured). */
  readonly challenge: string;
}

const tokens = new WeakMap<IncomingMessage, SubjectToken>();

/** Records the verified access token of the request's user (called by `authenticate`). */
export function rememberSubjectToken(req: IncomingMessage, value: SubjectToken): void {
  tokens.set(req, Object.freeze({ token: value.token, challenge: value.challenge }));
}

/** The recorded access token of the request's user, if the login had one. */
export function subjectTokenOf(req: IncomingMessage): SubjectToken | undefined {
  return tokens.get(req);
}
