import type { UserContext } from '@mcp-identity/core/internal';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The normalized caller, set by `authenticate` (or by the app) before `propagateIdentity`. */
      userContext?: UserContext;
    }
  }
}

export {};
