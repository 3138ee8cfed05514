// Aliased: inside `namespace Express`, a bare `AuthInfo` would name Passport's own empty interface.
import type { AuthInfo as McpAuthInfo, ReceivedUser } from './auth-info.js';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    /** After `verifyIdentity`, `req.user` is the verified UserContext (composes with Passport's `Express.User`). */
    // eslint-disable-next-line @typescript-eslint/no-empty-object-type
    interface User extends ReceivedUser {}
    interface Request {
      /** The verified user (declared exactly as `@types/passport` does, so both merge). */
      user?: User | undefined;
      /** MCP SDK `AuthInfo`, read by its Streamable HTTP transport as `extra.authInfo`. */
      auth?: McpAuthInfo;
    }
  }
}

export {};
