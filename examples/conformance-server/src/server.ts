/**
 * The conformance MCP server's surface: the tools, resources and prompts that the scenarios of
 * `@modelcontextprotocol/conformance` (server mode) ask for, each written from the scenario's
 * "Server Implementation Requirements" (`npx conformance list --server`, scenario descriptions).
 *
 * One factory backs both protocol eras (SDK v2): multi-round-trip tools return `inputRequired(...)`,
 * which a 2026-07-28 client fulfils itself and which the SDK's legacy shim turns into real
 * server-to-client requests on a 2025-era session.
 */
import {
  CLIENT_CAPABILITIES_META_KEY,
  McpServer,
  MissingRequiredClientCapabilityError,
  ProtocolError,
  ProtocolErrorCode,
  ResourceTemplate,
  acceptedContent,
  createRequestStateCodec,
  fromJsonSchema,
  inputRequired,
  inputResponse,
} from '@modelcontextprotocol/server';
import type {
  CallToolResult,
  ClientCapabilities,
  JsonSchemaType,
  ServerContext,
  ServerNotifier,
  StandardSchemaWithJSON,
} from '@modelcontextprotocol/server';

/** A 1x1 red PNG. */
export const RED_PIXEL_PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==';

/** A valid, very short WAV file (8 kHz mono, 8-bit, 8 samples of silence), base64. */
export const SHORT_WAV = ((): string => {
  const samples = Buffer.alloc(8, 128);
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + samples.length, 4);
  header.write('WAVE', 8, 'ascii');
  header.write('fmt ', 12, 'ascii');
  header.writeUInt32LE(16, 16); // PCM chunk size
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(8000, 24); // sample rate
  header.writeUInt32LE(8000, 28); // byte rate
  header.writeUInt16LE(1, 32); // block align
  header.writeUInt16LE(8, 34); // bits per sample
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(samples.length, 40);
  return Buffer.concat([header, samples]).toString('base64');
})();

function schema(json: JsonSchemaType): StandardSchemaWithJSON<Record<string, unknown>, Record<string, unknown>> {
  return fromJsonSchema<Record<string, unknown>>(json);
}

function text(value: string): CallToolResult {
  return { content: [{ type: 'text', text: value }] };
}

/** The client's capabilities: the per-request envelope (2026-07-28), else what `initialize` declared. */
function declaredCapabilities(server: McpServer, ctx: ServerContext): ClientCapabilities {
  const envelope = ctx.mcpReq.envelope as Record<string, unknown> | undefined;
  const declared = envelope?.[CLIENT_CAPABILITIES_META_KEY] ?? server.server.getClientCapabilities(); // eslint-disable-line @typescript-eslint/no-deprecated -- 2025-era sessions have no envelope
  return declared ?? {};
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** What the factory needs from the serving layer. */
export interface ConformanceServerDeps {
  /** Publishes list-changed events to open `subscriptions/listen` streams (modern era). */
  readonly notify?: ServerNotifier;
  /** HMAC key for the multi-round-trip `requestState` (32 bytes or more). */
  readonly requestStateKey: Uint8Array;
}

/** Builds one server instance (the SDK asks for a fresh one per modern request or legacy session). */
export function buildConformanceServer(deps: ConformanceServerDeps): McpServer {
  const codec = createRequestStateCodec<Record<string, unknown>>({ key: deps.requestStateKey });
  const server = new McpServer(
    { name: 'mcp-identity-conformance-server', version: '0.1.0' },
    {
      capabilities: {
        tools: { listChanged: true },
        resources: { subscribe: true, listChanged: true },
        prompts: { listChanged: true },
        logging: {},
        completions: {},
      },
      cacheHints: {
        'tools/list': { ttlMs: 0, cacheScope: 'private' },
        'prompts/list': { ttlMs: 0, cacheScope: 'private' },
        'resources/list': { ttlMs: 0, cacheScope: 'private' },
        'resources/templates/list': { ttlMs: 0, cacheScope: 'private' },
        'resources/read': { ttlMs: 0, cacheScope: 'private' },
      },
      requestState: { verify: (state, ctx) => codec.verify(state, ctx) },
    },
  );
  registerContentTools(server);
  registerInteractiveTools(server, deps);
  registerInputRequiredTools(server, codec);
  registerResources(server);
  registerPrompts(server);
  return server;
}

function registerContentTools(server: McpServer): void {
  server.registerTool('test_simple_text', { description: 'Returns a fixed text' }, () =>
    text('This is a simple text response for testing.'),
  );
  server.registerTool('test_image_content', { description: 'Returns a 1x1 PNG' }, () => ({
    content: [{ type: 'image', data: RED_PIXEL_PNG, mimeType: 'image/png' }],
  }));
  server.registerTool('test_audio_content', { description: 'Returns a short WAV' }, () => ({
    content: [{ type: 'audio', data: SHORT_WAV, mimeType: 'audio/wav' }],
  }));
  server.registerTool('test_embedded_resource', { description: 'Returns an embedded text resource' }, () => ({
    content: [
      {
        type: 'resource',
        resource: { uri: 'test://embedded-resource', mimeType: 'text/plain', text: 'This is an embedded resource content.' },
      },
    ],
  }));
  server.registerTool('test_multiple_content_types', { description: 'Returns text, image and resource content' }, () => ({
    content: [
      { type: 'text', text: 'Multiple content types test:' },
      { type: 'image', data: RED_PIXEL_PNG, mimeType: 'image/png' },
      {
        type: 'resource',
        resource: {
          uri: 'test://mixed-content-resource',
          mimeType: 'application/json',
          text: JSON.stringify({ test: 'data', value: 123 }),
        },
      },
    ],
  }));
  server.registerTool('test_error_handling', { description: 'Always fails' }, () => ({
    isError: true,
    content: [{ type: 'text', text: 'This tool intentionally returns an error for testing' }],
  }));
  server.registerTool(
    'json_schema_2020_12_tool',
    {
      description: 'Input schema with JSON Schema 2020-12 keywords',
      inputSchema: schema({
        $schema: 'https://json-schema.org/draft/2020-12/schema',
        type: 'object',
        $defs: {
          address: {
            $anchor: 'address',
            type: 'object',
            properties: { street: { type: 'string' }, city: { type: 'string' } },
          },
        },
        properties: {
          name: { type: 'string' },
          address: { $ref: '#/$defs/address' },
          contact: {
            anyOf: [
              { type: 'string', format: 'email' },
              { type: 'string', pattern: '^\\+?[0-9]+$' },
            ],
          },
          kind: { type: 'string', enum: ['person', 'company'] },
          registration: { allOf: [{ type: 'string' }, { minLength: 1 }] },
        },
        if: { properties: { kind: { const: 'company' } } },
        then: { required: ['registration'] },
        else: { required: ['name'] },
        additionalProperties: false,
      }),
    },
    (args) => text(`Received: ${JSON.stringify(args)}`),
  );
  server.registerTool(
    'test_header_param',
    {
      description: 'Echoes a region that clients mirror into the Mcp-Param-Region header',
      inputSchema: schema({
        type: 'object',
        properties: { region: { type: 'string', 'x-mcp-header': 'Region' } },
        required: ['region'],
      } as JsonSchemaType),
    },
    (args) => text(`region=${String(args['region'])}`),
  );
}

function registerInteractiveTools(server: McpServer, deps: ConformanceServerDeps): void {
  server.registerTool('test_tool_with_logging', { description: 'Logs three messages while it runs' }, async (ctx) => {
    // 2025-era logging is what the tools-call-with-logging scenario checks (deprecated in 2026-07-28).
    const log = (message: string) => ctx.mcpReq.log('info', message); // eslint-disable-line @typescript-eslint/no-deprecated
    await log('Tool execution started');
    await sleep(50);
    await log('Tool processing data');
    await sleep(50);
    await log('Tool execution completed');
    return text('Logging tool finished');
  });
  server.registerTool(
    'test_logging_tool',
    { description: 'Logs one message (sent only when the client asked for a log level)' },
    async (ctx) => {
      await ctx.mcpReq.log('info', 'test_logging_tool ran'); // eslint-disable-line @typescript-eslint/no-deprecated
      return text('logged');
    },
  );
  server.registerTool('test_tool_with_progress', { description: 'Reports progress 0, 50, 100 of 100' }, async (ctx) => {
    const progressToken = ctx.mcpReq._meta?.progressToken;
    for (const progress of [0, 50, 100]) {
      if (progressToken !== undefined) {
        await ctx.mcpReq.notify({ method: 'notifications/progress', params: { progressToken, progress, total: 100 } });
      }
      if (progress < 100) await sleep(50);
    }
    return text('Progress tool finished');
  });
  server.registerTool(
    'test_sampling',
    {
      description: 'Asks the client to sample an LLM',
      inputSchema: schema({ type: 'object', properties: { prompt: { type: 'string' } }, required: ['prompt'] }),
    },
    (args, ctx) => {
      const answer = inputResponse(ctx.mcpReq.inputResponses, 'sample');
      if (answer.kind !== 'sampling') {
        return inputRequired({
          inputRequests: {
            sample: inputRequired.createMessage({
              messages: [{ role: 'user', content: { type: 'text', text: String(args['prompt']) } }],
              maxTokens: 100,
            }),
          },
        });
      }
      const content = answer.result.content;
      const reply = !Array.isArray(content) && content.type === 'text' ? content.text : JSON.stringify(content);
      return text(`LLM response: ${reply}`);
    },
  );
  server.registerTool(
    'test_elicitation',
    {
      description: 'Asks the user for a username and an email address',
      inputSchema: schema({ type: 'object', properties: { message: { type: 'string' } }, required: ['message'] }),
    },
    (args, ctx) => {
      const answer = inputResponse(ctx.mcpReq.inputResponses, 'user');
      if (answer.kind !== 'elicit') {
        return inputRequired({
          inputRequests: {
            user: inputRequired.elicit({
              message: String(args['message']),
              requestedSchema: {
                type: 'object',
                properties: {
                  username: { type: 'string', description: "User's response" },
                  email: { type: 'string', description: "User's email address" },
                },
                required: ['username', 'email'],
              },
            }),
          },
        });
      }
      return text(`User response: action=${answer.action}, content=${JSON.stringify(answer.content ?? {})}`);
    },
  );
  server.registerTool(
    'test_elicitation_sep1034_defaults',
    { description: 'Elicitation with a default for every primitive type' },
    (ctx) => {
      const answer = inputResponse(ctx.mcpReq.inputResponses, 'defaults');
      if (answer.kind !== 'elicit') {
        return inputRequired({
          inputRequests: {
            defaults: inputRequired.elicit({
              message: 'Please review the defaults',
              requestedSchema: {
                type: 'object',
                properties: {
                  name: { type: 'string', default: 'John Doe' },
                  age: { type: 'integer', default: 30 },
                  score: { type: 'number', default: 95.5 },
                  status: { type: 'string', enum: ['active', 'inactive', 'pending'], default: 'active' },
                  verified: { type: 'boolean', default: true },
                },
              },
            }),
          },
        });
      }
      return text(`Elicitation completed: action=${answer.action}, content=${JSON.stringify(answer.content ?? {})}`);
    },
  );
  server.registerTool('test_elicitation_sep1330_enums', { description: 'Elicitation with the five enum schema variants' }, (ctx) => {
    const answer = inputResponse(ctx.mcpReq.inputResponses, 'enums');
    if (answer.kind !== 'elicit') {
      return inputRequired({
        inputRequests: {
          enums: inputRequired.elicit({
            message: 'Pick some options',
            requestedSchema: {
              type: 'object',
              properties: {
                untitledSingle: { type: 'string', enum: ['option1', 'option2', 'option3'] },
                titledSingle: {
                  type: 'string',
                  oneOf: [
                    { const: 'value1', title: 'First Option' },
                    { const: 'value2', title: 'Second Option' },
                    { const: 'value3', title: 'Third Option' },
                  ],
                },
                legacyEnum: {
                  type: 'string',
                  enum: ['opt1', 'opt2', 'opt3'],
                  enumNames: ['Option One', 'Option Two', 'Option Three'],
                },
                untitledMulti: { type: 'array', items: { type: 'string', enum: ['option1', 'option2', 'option3'] } },
                titledMulti: {
                  type: 'array',
                  items: {
                    anyOf: [
                      { const: 'value1', title: 'First Choice' },
                      { const: 'value2', title: 'Second Choice' },
                      { const: 'value3', title: 'Third Choice' },
                    ],
                  },
                },
              },
            },
          }),
        },
      });
    }
    return text(`Elicitation completed: action=${answer.action}, content=${JSON.stringify(answer.content ?? {})}`);
  });
  server.registerTool(
    'test_reconnection',
    { description: 'Closes its SSE stream mid-call; the client reconnects and gets the result' },
    async (ctx) => {
      await sleep(100);
      ctx.http?.closeSSE?.();
      await sleep(100);
      return text('Reconnection test completed successfully');
    },
  );
  server.registerTool('test_missing_capability', { description: 'Needs the client sampling capability' }, (ctx) => {
    const declared = declaredCapabilities(server, ctx);
    if (declared?.sampling === undefined) throw new MissingRequiredClientCapabilityError({ requiredCapabilities: { sampling: {} } });
    return text('client declared sampling');
  });
  server.registerTool('test_trigger_tool_change', { description: 'Publishes notifications/tools/list_changed' }, () => {
    deps.notify?.toolsChanged();
    return text('tools changed');
  });
  server.registerTool('test_trigger_prompt_change', { description: 'Publishes notifications/prompts/list_changed' }, () => {
    deps.notify?.promptsChanged();
    return text('prompts changed');
  });
}

type StateCodec = ReturnType<typeof createRequestStateCodec<Record<string, unknown>>>;

function nameSchema() {
  return { type: 'object' as const, properties: { name: { type: 'string' as const } }, required: ['name'] };
}

function askName(message = 'What is your name?') {
  return inputRequired.elicit({ message, requestedSchema: nameSchema() });
}

function registerInputRequiredTools(server: McpServer, codec: StateCodec): void {
  server.registerTool('test_input_required_result_elicitation', { description: 'Asks for a name, then greets' }, (ctx) => {
    const responses = ctx.mcpReq.inputResponses;
    if (responses !== undefined && (typeof responses !== 'object' || Array.isArray(responses))) {
      throw new ProtocolError(ProtocolErrorCode.InvalidParams, 'inputResponses must be an object');
    }
    const content = acceptedContent<{ name?: unknown }>(responses, 'user_name');
    if (typeof content?.name !== 'string') return inputRequired({ inputRequests: { user_name: askName() } });
    return text(`Hello, ${content.name}!`);
  });
  server.registerTool('test_input_required_result_sampling', { description: 'Asks the client to sample an answer' }, (ctx) => {
    const answer = inputResponse(ctx.mcpReq.inputResponses, 'capital_question');
    if (answer.kind !== 'sampling') {
      return inputRequired({
        inputRequests: {
          capital_question: inputRequired.createMessage({
            messages: [{ role: 'user', content: { type: 'text', text: 'What is the capital of France?' } }],
            maxTokens: 100,
          }),
        },
      });
    }
    const content = answer.result.content;
    return text(`Sampling said: ${!Array.isArray(content) && content.type === 'text' ? content.text : JSON.stringify(content)}`);
  });
  server.registerTool('test_input_required_result_list_roots', { description: 'Asks the client for its roots' }, (ctx) => {
    const answer = inputResponse(ctx.mcpReq.inputResponses, 'client_roots');
    if (answer.kind !== 'roots') return inputRequired({ inputRequests: { client_roots: inputRequired.listRoots() } });
    return text(`Roots: ${answer.roots.map((root) => root.uri).join(', ')}`);
  });
  server.registerTool('test_input_required_result_request_state', { description: 'Round-trips a signed requestState' }, async (ctx) => {
    const state = ctx.mcpReq.requestState<Record<string, unknown>>();
    const answer = inputResponse(ctx.mcpReq.inputResponses, 'confirm');
    if (state?.['step'] === 'confirm' && answer.kind === 'elicit') return text('state-ok: confirmed');
    return inputRequired({
      inputRequests: {
        confirm: inputRequired.elicit({
          message: 'Please confirm',
          requestedSchema: { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] },
        }),
      },
      requestState: await codec.mint({ step: 'confirm' }, ctx),
    });
  });
  server.registerTool(
    'test_input_required_result_multiple_inputs',
    { description: 'Asks for elicitation, sampling and roots at once' },
    async (ctx) => {
      const responses = ctx.mcpReq.inputResponses;
      const state = ctx.mcpReq.requestState<Record<string, unknown>>();
      const kinds = [
        inputResponse(responses, 'user_name').kind,
        inputResponse(responses, 'greeting').kind,
        inputResponse(responses, 'client_roots').kind,
      ];
      if (state?.['step'] === 'all' && kinds.join() === 'elicit,sampling,roots') return text('All inputs received');
      return inputRequired({
        inputRequests: {
          user_name: askName(),
          greeting: inputRequired.createMessage({
            messages: [{ role: 'user', content: { type: 'text', text: 'Generate a greeting' } }],
            maxTokens: 50,
          }),
          client_roots: inputRequired.listRoots(),
        },
        requestState: await codec.mint({ step: 'all' }, ctx),
      });
    },
  );
  server.registerTool(
    'test_input_required_result_multi_round',
    { description: 'Two rounds of elicitation with evolving requestState' },
    async (ctx) => {
      const state = ctx.mcpReq.requestState<Record<string, unknown>>();
      const responses = ctx.mcpReq.inputResponses;
      if (state?.['round'] === 2) {
        const color = acceptedContent<{ color?: unknown }>(responses, 'step2');
        if (typeof color?.color === 'string') return text(`Hello ${String(state['name'])}, you like ${color.color}`);
      }
      if (state?.['round'] === 1) {
        const name = acceptedContent<{ name?: unknown }>(responses, 'step1');
        if (typeof name?.name === 'string') {
          return inputRequired({
            inputRequests: {
              step2: inputRequired.elicit({
                message: 'Step 2: What is your favorite color?',
                requestedSchema: { type: 'object', properties: { color: { type: 'string' } }, required: ['color'] },
              }),
            },
            requestState: await codec.mint({ round: 2, name: name.name }, ctx),
          });
        }
      }
      return inputRequired({
        inputRequests: { step1: askName('Step 1: What is your name?') },
        requestState: await codec.mint({ round: 1 }, ctx),
      });
    },
  );
  server.registerTool(
    'test_input_required_result_tampered_state',
    { description: 'Signed requestState; a tampered one is refused' },
    async (ctx) => {
      const state = ctx.mcpReq.requestState<Record<string, unknown>>();
      if (state?.['step'] === 'signed' && inputResponse(ctx.mcpReq.inputResponses, 'user_name').kind === 'elicit') {
        return text('state verified');
      }
      return inputRequired({
        inputRequests: { user_name: askName() },
        requestState: await codec.mint({ step: 'signed' }, ctx),
      });
    },
  );
  server.registerTool(
    'test_input_required_result_capabilities',
    { description: 'Only asks for inputs the client declared it can give' },
    (ctx) => {
      const declared = declaredCapabilities(server, ctx);
      const responses = ctx.mcpReq.inputResponses;
      if (responses !== undefined && Object.keys(responses).length > 0) return text('Inputs received');
      const requests: Record<string, ReturnType<typeof askName>> = {};
      if (declared.elicitation !== undefined) requests['user_name'] = askName();
      if (declared.sampling !== undefined) {
        requests['greeting'] = inputRequired.createMessage({
          messages: [{ role: 'user', content: { type: 'text', text: 'Generate a greeting' } }],
          maxTokens: 50,
        });
      }
      if (declared.roots !== undefined) requests['client_roots'] = inputRequired.listRoots();
      if (Object.keys(requests).length === 0) return text('The client declared no input capability');
      return inputRequired({ inputRequests: requests });
    },
  );
  server.registerPrompt('test_input_required_result_prompt', { description: 'A prompt that first asks the user for context' }, (ctx) => {
    const content = acceptedContent<{ context?: unknown }>(ctx.mcpReq.inputResponses, 'user_context');
    if (typeof content?.context !== 'string') {
      return inputRequired({
        inputRequests: {
          user_context: inputRequired.elicit({
            message: 'What context should the prompt use?',
            requestedSchema: { type: 'object', properties: { context: { type: 'string' } }, required: ['context'] },
          }),
        },
      });
    }
    return { messages: [{ role: 'user', content: { type: 'text', text: `Context: ${content.context}` } }] };
  });
}

function registerResources(server: McpServer): void {
  server.registerResource(
    'static-text',
    'test://static-text',
    { description: 'A static text resource', mimeType: 'text/plain' },
    (uri) => ({ contents: [{ uri: uri.href, mimeType: 'text/plain', text: 'This is the content of the static text resource.' }] }),
  );
  server.registerResource(
    'static-binary',
    'test://static-binary',
    { description: 'A static binary resource (PNG)', mimeType: 'image/png' },
    (uri) => ({ contents: [{ uri: uri.href, mimeType: 'image/png', blob: RED_PIXEL_PNG }] }),
  );
  server.registerResource(
    'watched-resource',
    'test://watched-resource',
    { description: 'A resource clients subscribe to', mimeType: 'text/plain' },
    (uri) => ({ contents: [{ uri: uri.href, mimeType: 'text/plain', text: 'Watched resource content.' }] }),
  );
  server.registerResource(
    'template-data',
    new ResourceTemplate('test://template/{id}/data', {
      list: undefined,
      complete: { id: (value) => ['1', '2', '3', '123'].filter((id) => id.startsWith(value)) },
    }),
    { description: 'Data for an id', mimeType: 'application/json' },
    (uri, variables) => {
      const id = String(variables['id']);
      return {
        contents: [
          {
            uri: uri.href,
            mimeType: 'application/json',
            text: JSON.stringify({ id, templateTest: true, data: `Data for ID: ${id}` }),
          },
        ],
      };
    },
  );
  // Subscriptions (2025 era): tracked per session; this server never changes its resources, so no update is sent.
  const subscribed = new Set<string>();
  server.server.setRequestHandler('resources/subscribe', (request) => {
    subscribed.add(request.params.uri);
    return {};
  });
  server.server.setRequestHandler('resources/unsubscribe', (request) => {
    subscribed.delete(request.params.uri);
    return {};
  });
}

const ARG_CHOICES = ['paris', 'park', 'party', 'hello', 'world'];

function registerPrompts(server: McpServer): void {
  server.registerPrompt('test_simple_prompt', { description: 'A prompt without arguments' }, () => ({
    messages: [{ role: 'user', content: { type: 'text', text: 'This is a simple prompt for testing.' } }],
  }));
  server.registerPrompt(
    'test_prompt_with_arguments',
    {
      description: 'A prompt with two arguments',
      argsSchema: schema({
        type: 'object',
        properties: {
          arg1: { type: 'string', description: 'First test argument' },
          arg2: { type: 'string', description: 'Second test argument' },
        },
        required: ['arg1', 'arg2'],
      }),
    },
    (args) => ({
      messages: [
        {
          role: 'user',
          content: { type: 'text', text: `Prompt with arguments: arg1='${String(args['arg1'])}', arg2='${String(args['arg2'])}'` },
        },
      ],
    }),
  );
  server.registerPrompt(
    'test_prompt_with_embedded_resource',
    {
      description: 'A prompt embedding a resource',
      argsSchema: schema({ type: 'object', properties: { resourceUri: { type: 'string' } }, required: ['resourceUri'] }),
    },
    (args) => ({
      messages: [
        {
          role: 'user',
          content: {
            type: 'resource',
            resource: { uri: String(args['resourceUri']), mimeType: 'text/plain', text: 'Embedded resource content for testing.' },
          },
        },
        { role: 'user', content: { type: 'text', text: 'Please process the embedded resource above.' } },
      ],
    }),
  );
  server.registerPrompt('test_prompt_with_image', { description: 'A prompt with an image' }, () => ({
    messages: [
      { role: 'user', content: { type: 'image', data: RED_PIXEL_PNG, mimeType: 'image/png' } },
      { role: 'user', content: { type: 'text', text: 'Please analyze the image above.' } },
    ],
  }));
  // completion/complete for prompt arguments: the scenario asks for test_prompt_with_arguments / arg1.
  server.server.setRequestHandler('completion/complete', (request) => {
    const value = request.params.argument.value;
    const values = ARG_CHOICES.filter((choice) => choice.startsWith(value));
    return { completion: { values, total: values.length, hasMore: false } };
  });
}

/** The context handlers see; re-exported for tests. */
export type { ServerContext };
