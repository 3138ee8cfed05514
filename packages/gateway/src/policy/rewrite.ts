/**
 * Rewrites upstream responses for the policy: list results filtered, and the answers to
 * denied requests of a batch merged in. JSON bodies are read whole (bounded); SSE streams are
 * rewritten event by event, and once no list response is pending the rest flows untouched.
 */
import { StringDecoder } from 'node:string_decoder';
import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import { isRecord, toJsonRpcError, IdentityError } from '@mcp-identity/core/internal';
import type { JsonRpcMessage } from '@mcp-identity/core/internal';
import { filterListResponse, listKindOfResult } from './filter.js';
import type { Allows } from './filter.js';
import type { ListKind } from './enforce.js';

/** What one response needs rewritten. */
export interface RewriteState {
  /** The list requests not yet answered, by id. */
  readonly lists: Map<unknown, ListKind>;
  /** Answers to denied requests still to send. */
  denied: readonly JsonRpcMessage[];
  /** True for a stream whose requests the gateway did not see (GET): lists are recognized by their shape. */
  readonly replay: boolean;
  readonly allows: Allows;
  /** Largest JSON body or SSE event read, in bytes. */
  readonly limit: number;
}

/** Thrown when a body or event exceeds the limit. */
export function tooLarge(): IdentityError {
  return new IdentityError('response_too_large', 'the upstream response is too large to filter');
}

function kindOf(message: unknown, state: RewriteState): ListKind | undefined {
  if (!isRecord(message) || !Object.hasOwn(message, 'result')) return undefined;
  if (state.replay) return listKindOfResult(message.result);
  return state.lists.get(message.id);
}

/** Rewrites one parsed message (or batch of them) of a response; returns undefined when nothing changed. */
function rewriteValue(value: unknown, state: RewriteState): unknown {
  const messages = Array.isArray(value) ? (value as unknown[]) : [value];
  let changed = false;
  const out = messages.map((message) => {
    if (!isRecord(message)) return message;
    if (!state.replay && Object.hasOwn(message, 'id') && !Object.hasOwn(message, 'method')) {
      const kind = state.lists.get(message.id);
      state.lists.delete(message.id);
      if (kind === undefined) return message;
      changed = true;
      return filterListResponse(message, kind, state.allows);
    }
    const kind = kindOf(message, state);
    if (kind === undefined) return message;
    changed = true;
    return filterListResponse(message, kind, state.allows);
  });
  if (!changed) return undefined;
  return Array.isArray(value) ? out : out[0];
}

/** Tells whether a stream still needs reading event by event. */
function active(state: RewriteState): boolean {
  return state.replay || state.lists.size > 0 || state.denied.length > 0;
}

/** Rewrites a whole JSON body: list results filtered, denied answers appended (the body becomes a batch). */
export function rewriteJsonBody(text: string, state: RewriteState): string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // Not JSON: nothing in it can be a list result the client would read.
    if (state.denied.length === 0) return text;
    return JSON.stringify(state.denied);
  }
  const rewritten = rewriteValue(value, state) ?? value;
  const denied = state.denied;
  state.denied = [];
  if (denied.length === 0) return rewritten === value ? text : JSON.stringify(rewritten);
  return JSON.stringify([...(Array.isArray(rewritten) ? (rewritten as unknown[]) : [rewritten]), ...denied]);
}

/** An SSE event carrying a JSON-RPC message. */
function sseEvent(message: unknown): string {
  return `data: ${JSON.stringify(message)}\n\n`;
}

const LINE_END = /\r\n|\r|\n/g;

/**
 * Rewrites an SSE stream event by event. Events that are not list responses are passed on
 * byte for byte as soon as they end; when no list response is pending, whole chunks are.
 */
export class SseRewriter extends Transform {
  readonly #state: RewriteState;
  readonly #decoder = new StringDecoder('utf8');
  /** Text not yet split into lines. */
  #pending = '';
  /** The raw lines of the current event, terminators included. */
  #event = '';
  #data: string[] = [];
  #fields = '';
  #started = false;
  #failed = false;

  constructor(state: RewriteState) {
    super();
    this.#state = state;
  }

  #start(): void {
    if (this.#started) return;
    this.#started = true;
    // Answers to denied requests of the batch go first: the upstream's stream may never end.
    for (const answer of this.#state.denied) this.push(sseEvent(answer));
    this.#state.denied = [];
  }

  #finishEvent(): void {
    const raw = this.#event;
    const data = this.#data;
    const fields = this.#fields;
    this.#event = '';
    this.#data = [];
    this.#fields = '';
    if (data.length === 0) {
      this.push(raw);
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(data.join('\n'));
    } catch {
      this.push(raw);
      return;
    }
    const rewritten = rewriteValue(value, this.#state);
    if (rewritten === undefined) this.push(raw);
    else this.push(`${fields}${sseEvent(rewritten)}`);
  }

  #lines(text: string, final: boolean): void {
    let start = 0;
    LINE_END.lastIndex = 0;
    for (let match = LINE_END.exec(text); match !== null; match = LINE_END.exec(text)) {
      // A lone CR at the end of the text may be the first half of CRLF.
      if (!final && match[0] === '\r' && match.index === text.length - 1) break;
      const line = text.slice(start, match.index);
      const full = text.slice(start, match.index + match[0].length);
      start = match.index + match[0].length;
      this.#event += full;
      if (this.#event.length > this.#state.limit) throw tooLarge();
      if (line.length === 0) this.#finishEvent();
      else if (line.startsWith('data:')) this.#data.push(line.slice(line.startsWith('data: ') ? 6 : 5));
      else this.#fields += `${line}\n`;
      if (!active(this.#state) && this.#event.length === 0) {
        // Nothing left to rewrite: the rest of the stream flows as it comes.
        this.push(text.slice(start));
        this.#pending = '';
        return;
      }
    }
    this.#pending = text.slice(start);
    if (this.#pending.length + this.#event.length > this.#state.limit) throw tooLarge();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#start();
    if (this.#failed) {
      callback();
      return;
    }
    if (!active(this.#state) && this.#event.length === 0 && this.#pending.length === 0) {
      callback(null, chunk);
      return;
    }
    try {
      this.#lines(this.#pending + this.#decoder.write(chunk), false);
      callback();
    } catch (error) {
      this.#fail();
      callback();
      // The owner stops reading the upstream and ends this stream (see 'overflow').
      process.nextTick(() => this.emit('overflow', error));
    }
  }

  override _flush(callback: TransformCallback): void {
    this.#start();
    if (this.#failed) {
      callback();
      return;
    }
    const rest = this.#pending + this.#decoder.end();
    this.#pending = '';
    if (rest.length > 0) this.#lines(rest, true);
    // An unterminated last event is passed on as it came: the client drops it as SSE requires.
    if (this.#event.length > 0) this.push(this.#event);
    callback();
  }

  /** Answers every pending list request with `response_too_large`, instead of the oversized event. */
  #fail(): void {
    this.#failed = true;
    this.#pending = '';
    this.#event = '';
    const error = toJsonRpcError(tooLarge());
    for (const id of this.#state.lists.keys()) this.push(sseEvent({ ...error, id }));
    this.#state.lists.clear();
  }
}
