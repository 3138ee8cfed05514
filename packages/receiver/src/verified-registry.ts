import type { ServerResponse } from 'node:http';
import type { UserContext } from '@mcp-identity/core/internal';

// Assertions verified for requests still in flight, so `getUser` can trust the assertion it
// finds in `extra._meta`. An entry lives exactly as long as its response.
const inFlight = new Map<string, UserContext>();

/** Records a verified assertion until the response closes. */
export function rememberVerified(token: string, user: UserContext, res: ServerResponse): void {
  inFlight.set(token, user);
  res.once('close', () => {
    if (inFlight.get(token) === user) inFlight.delete(token);
  });
}

/** The user of an assertion verified for a request still in flight. */
export function verifiedUser(token: string): UserContext | undefined {
  return inFlight.get(token);
}
