/**
 * Every refusal in mcp-identity is an {@link IdentityError} with a stable `code`.
 * Switch on `err.code`, not on `instanceof`: two bundled copies of this package
 * produce two distinct classes.
 */

/** Stable error codes, their HTTP status and JSON-RPC error code. */
const CODES = {
  // Gateway: authentication and authorization
  unauthenticated: [401, -32001],
  forbidden: [403, -32003],
  insufficient_scope: [403, -32003],
  auth_unavailable: [503, -32603],
  user_context_invalid: [500, -32603],
  // Gateway: request body
  body_too_large: [413, -32600],
  unsupported_media_type: [415, -32600],
  unsupported_encoding: [415, -32600],
  parse_error: [400, -32700],
  invalid_request: [400, -32600],
  invalid_params: [400, -32602],
  body_unavailable: [500, -32603],
  // Gateway: upstream
  upstream_unavailable: [502, -32603],
  upstream_timeout: [504, -32603],
  response_too_large: [502, -32603],
  upstream_aborted: [502, -32603],
  session_not_found: [404, -32001],
  identity_too_large: [431, -32001],
  path_invalid: [400, -32600],
  claims_limit_exceeded: [403, -32003],
  // Gateway: token exchange (RFC 8693) for an upstream
  token_exchange_unsupported_login: [403, -32003],
  token_exchange_rejected: [401, -32001],
  token_exchange_unavailable: [502, -32603],
  token_exchange_timeout: [504, -32603],
  // Gateway and receiver: MCP 2026-07-28 request checks (-32020 is the spec's HeaderMismatch)
  mcp_header_mismatch: [400, -32020],
  mcp_message_refused: [400, -32600],
  // Receiver: assertion verification
  identity_missing: [401, -32001],
  identity_invalid: [401, -32001],
  identity_expired: [401, -32001],
  identity_replayed: [401, -32001],
  identity_audience: [401, -32001],
  identity_issuer: [401, -32001],
  identity_binding: [401, -32001],
  identity_mismatch: [401, -32001],
  identity_forbidden: [403, -32003],
  delegated_token_missing: [401, -32001],
  delegated_token_mismatch: [401, -32001],
  keys_unavailable: [503, -32603],
  store_unavailable: [503, -32603],
} as const satisfies Record<string, readonly [status: number, rpcCode: number]>;

/** A stable, documented error code. */
export type IdentityErrorCode = keyof typeof CODES;

/** Options for {@link IdentityError}. */
export interface IdentityErrorOptions {
  /** The underlying error, kept for logs; never sent to clients. */
  readonly cause?: unknown;
  /** Extra response headers, e.g. `WWW-Authenticate`. */
  readonly headers?: Readonly<Record<string, string | readonly string[]>>;
  /** An HTTP status (400–599) replacing the code's own, when a deployment configured another (the receiver's `storeErrorStatus`). */
  readonly status?: number;
  /** The id of the JSON-RPC request refused, when the refusal is about one known request. Default: `null` in the body. */
  readonly rpcId?: string | number;
}

/**
 * The one error class of mcp-identity. `status` is the HTTP status, `rpcCode` the
 * JSON-RPC error code, `code` the stable string to switch on.
 */
export class IdentityError extends Error {
  override readonly name = 'IdentityError';
  readonly code: IdentityErrorCode;
  readonly status: number;
  readonly rpcCode: number;
  /** Express's final handler reads `expose` and `statusCode`; the message is safe to show. */
  readonly expose = true;
  readonly headers: Readonly<Record<string, string | readonly string[]>> | undefined;
  /** The refused JSON-RPC request's id, echoed in the error body; undefined when not known. */
  readonly rpcId: string | number | undefined;

  /**
   * Creates an error; `status` and `rpcCode` default from `code`.
   * @param code - The stable code to switch on.
   * @param message - A message that never carries secrets or tokens.
   * @param options - `status`, `headers`, `cause` and the refused request's `rpcId`.
   */
  constructor(code: IdentityErrorCode, message: string, options: IdentityErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    const [status, rpcCode] = CODES[code];
    if (options.status !== undefined && !(Number.isInteger(options.status) && options.status >= 400 && options.status <= 599)) {
      throw new TypeError('status must be an HTTP error status (400-599)');
    }
    this.code = code;
    this.status = options.status ?? status;
    this.rpcCode = rpcCode;
    this.headers = options.headers;
    this.rpcId = options.rpcId;
  }

  /** Alias of `status` for Express's final handler and http-errors conventions. */
  get statusCode(): number {
    return this.status;
  }
}

/**
 * Tells whether a value is an {@link IdentityError}, also across bundled copies.
 * @param value - Anything caught.
 * @returns `true` when `value` is an `IdentityError` (switch on its `code`).
 * @example
 * app.use((error: unknown, _req: Request, res: Response, next: NextFunction) => {
 *   if (isIdentityError(error)) res.status(error.status).json(toJsonRpcError(error));
 *   else next(error);
 * });
 */
export function isIdentityError(value: unknown): value is IdentityError {
  if (value instanceof IdentityError) return true;
  if (!(value instanceof Error) || value.name !== 'IdentityError') return false;
  const code: unknown = (value as { code?: unknown }).code;
  return typeof code === 'string' && Object.hasOwn(CODES, code);
}

/** The JSON-RPC error body every refusal is answered with. */
export interface JsonRpcErrorBody {
  readonly jsonrpc: '2.0';
  readonly id: string | number | null;
  readonly error: {
    readonly code: number;
    readonly message: string;
    readonly data: { readonly code: IdentityErrorCode };
  };
}

/**
 * Builds the JSON-RPC error body for an error; the message never carries secrets or tokens.
 * @param error - The error to answer with.
 * @returns The JSON-RPC error response body (`error.data.code` is the stable string code).
 */
export function toJsonRpcError(error: IdentityError): JsonRpcErrorBody {
  return { jsonrpc: '2.0', id: error.rpcId ?? null, error: { code: error.rpcCode, message: error.message, data: { code: error.code } } };
}

/** The HTTP status and JSON-RPC code of every error code, for documentation and tests. */
export const errorCodes: Readonly<Record<IdentityErrorCode, { readonly status: number; readonly rpcCode: number }>> = Object.freeze(
  Object.fromEntries(Object.entries(CODES).map(([code, [status, rpcCode]]) => [code, Object.freeze({ status, rpcCode })])) as Record<
    IdentityErrorCode,
    { status: number; rpcCode: number }
  >,
);
