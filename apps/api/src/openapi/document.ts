import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { AUTH_RECV_WINDOW_MS, ERROR_CODES, ErrorCode, SIGNING_HEADERS } from '@ate/contracts';
import { z } from 'zod';
import { Access, OperationDoc, OPERATIONS, TAGS } from './operations';
import { responseSchemas } from './schemas';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const ref = (schema: z.ZodType): Json => {
  const id = responseSchemas.get(schema)?.id;
  if (!id) throw new Error('a response schema of the OpenAPI document is not a named component (schemas.ts)');
  return { $ref: `#/components/schemas/${id}` };
};

const SIGNED = [{ ateKey: [], ateTimestamp: [], ateSignature: [] }];
const SECURITY: Record<Access, Json[]> = {
  public: [],
  signed: SIGNED,
  agent: SIGNED,
  principal: SIGNED,
  admin: SIGNED,
  metrics: [{}, { metricsToken: [] }],
};

const SIGNING =
  `Signed requests carry three headers: ${SIGNING_HEADERS.key} (the key id), ${SIGNING_HEADERS.timestamp} (epoch ms, within ` +
  `${AUTH_RECV_WINDOW_MS} ms of the server clock, GET /v1/time) and ${SIGNING_HEADERS.signature}: hex HMAC-SHA256 keyed with ` +
  'HMAC-SHA256(secret, "ate-signing-key-v1") over "<timestamp>\\n<METHOD>\\n<path?query>\\n<body>" (the exact body bytes, empty for none). ' +
  'Each signature is accepted once. libs/client signs for you.';

const SECURITY_SCHEMES: Json = {
  ateKey: { type: 'apiKey', in: 'header', name: SIGNING_HEADERS.key, description: `The API key id (ak_...). ${SIGNING}` },
  ateTimestamp: { type: 'apiKey', in: 'header', name: SIGNING_HEADERS.timestamp, description: 'Milliseconds since the epoch, as a decimal string.' },
  ateSignature: {
    type: 'apiKey',
    in: 'header',
    name: SIGNING_HEADERS.signature,
    description: 'Hex HMAC-SHA256 of the canonical request (see ateKey).',
  },
  metricsToken: { type: 'http', scheme: 'bearer', description: 'METRICS_TOKEN, when the deployment sets one.' },
};

/** What every operation of a kind can give besides its own errors. */
function commonErrors(op: OperationDoc, hasBody: boolean, hasInput: boolean): ErrorCode[] {
  const codes: ErrorCode[] = [];
  if (hasInput) codes.push('VALIDATION_FAILED');
  if (hasBody) codes.push('MALFORMED_JSON', 'UNSUPPORTED_MEDIA_TYPE', 'PAYLOAD_TOO_LARGE');
  if (op.access === 'metrics') codes.push('AUTH_MISSING');
  if (SECURITY[op.access] === SIGNED) codes.push('AUTH_MISSING', 'AUTH_INVALID_SIGNATURE', 'AUTH_TIMESTAMP_OUT_OF_WINDOW', 'AUTH_REPLAYED');
  if (op.access === 'agent' || op.access === 'principal' || op.access === 'admin') codes.push('AUTH_FORBIDDEN');
  // a rate limit reached, or one that cannot be counted (Redis away: fail closed)
  if (!op.unthrottled) codes.push('RATE_LIMITED', 'SERVICE_UNAVAILABLE');
  return codes;
}

/** Every code an operation documents, its own and its kind's (the contract test checks real errors against it). */
export function documentedErrors(doc: OpenAPIObject, method: string, path: string): Set<string> {
  const o = (doc.paths[path] as Json | undefined)?.[method.toLowerCase()] as Json | undefined;
  const codes = new Set<string>();
  for (const [status, r] of Object.entries<Json>(o?.responses ?? {})) {
    if (Number(status) >= 400) for (const code of Object.keys(r['content']?.['application/json']?.examples ?? {})) codes.add(code);
  }
  return codes;
}

function errorResponses(codes: ErrorCode[]): Json {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of new Set(codes)) {
    const status = ERROR_CODES[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const out: Json = {};
  for (const [status, list] of [...byStatus].sort(([a], [b]) => a - b)) {
    out[String(status)] = {
      description: list.map((c) => `${c}: ${ERROR_CODES[c].message}`).join(' | '),
      content: {
        'application/json': {
          schema: { $ref: '#/components/schemas/Error' },
          examples: Object.fromEntries(
            list.map((c) => [c, { summary: ERROR_CODES[c].message, value: { error: { code: c, message: ERROR_CODES[c].message } } }]),
          ),
        },
      },
    };
  }
  return out;
}

const PARAMS: Record<string, Json> = {
  marketId: { description: 'The market id, BASE-CREDIT (the symbol BASE/CREDIT is also taken, URL-encoded).', example: 'GPT-X.1K-CREDIT' },
  orderId: { description: 'The order id.', example: '42' },
  clientOrderId: { description: 'The clientOrderId given at placement.', example: 'my-order-1' },
  agentId: { description: 'The agent id.', example: 'agt_3k9x2m7q1v8c' },
  keyId: { description: 'The API key id.', example: 'ak_4f8e2a9c1b7d3e5f' },
  principalId: { description: 'The principal id.', example: 'prn_7h2k9d4m1x6c' },
};

/** Examples of the query parameters, by name. */
const QUERY_EXAMPLES: Record<string, unknown> = { depth: 20, limit: 50, status: 'open', market: 'GPT-X.1K-CREDIT', cursor: '42', asset: 'CREDIT' };

function successResponse(op: OperationDoc, description: string): Json {
  if (op.response === null) return { description: description || 'Done; no body.' };
  if (op.response === 'text') {
    return { description, content: { 'text/plain; version=0.0.4': { schema: { type: 'string' }, example: op.example } } };
  }
  const d = responseSchemas.get(op.response)?.description;
  return { description: description || d || op.summary, content: { 'application/json': { schema: ref(op.response), example: op.example } } };
}

function applyOperation(o: Json, op: OperationDoc): void {
  const success = Object.keys(o['responses'] ?? {}).find((s) => Number(s) < 300) ?? '200';
  const hasBody = o['requestBody'] !== undefined;
  o['operationId'] = op.operationId;
  o['summary'] = op.summary;
  if (op.description) o['description'] = op.description;
  o['tags'] = [op.tag];
  o['security'] = SECURITY[op.access];
  for (const p of (o['parameters'] ?? []) as Json[]) {
    if (p['in'] === 'path' && PARAMS[p['name']]) Object.assign(p, PARAMS[p['name']]);
    if (p['in'] === 'query' && QUERY_EXAMPLES[p['name']] !== undefined) p['example'] = QUERY_EXAMPLES[p['name']];
  }
  if (hasBody && op.request !== undefined) o['requestBody']['content']['application/json']['example'] = op.request;
  const hasInput = hasBody || ((o['parameters'] ?? []) as Json[]).some((p) => p['in'] === 'query');
  const prior = o['responses']?.[success]?.description ?? '';
  const responses: Json = {
    [success]: successResponse(op, prior),
    ...errorResponses([...(op.errors ?? []), ...commonErrors(op, hasBody, hasInput)]),
  };
  if (op.operationId === 'getReadiness')
    responses['503'] = { description: 'Not ready: the failing checks.', content: { 'application/json': { schema: ref(op.response as z.ZodType) } } };
  o['responses'] = responses;
}

/** The api's OpenAPI 3.1 document: routes and inputs from the controllers, everything else from operations.ts. */
export function buildOpenApiDocument(app: INestApplication): { document: OpenAPIObject; undocumented: string[]; unrouted: string[] } {
  const base = new DocumentBuilder()
    .setOpenAPIVersion('3.1.0')
    .setTitle('Agent token exchange')
    .setDescription(
      'An exchange where LLM agents trade compute-token allowances (rights to consume N tokens of a model) for credits. ' +
        'Amounts are decimal strings. Every error is `{ "error": { "code", "message", "details" } }` with a stable code; each operation lists ' +
        'the codes it can answer with (any operation may also answer 500 INTERNAL with the request id). ' +
        SIGNING,
    )
    .setVersion('0.1.0')
    .build();
  const document = SwaggerModule.createDocument(app, base);
  document.info = { ...document.info, license: { name: 'MIT', identifier: 'MIT' } as OpenAPIObject['info']['license'] };
  delete (document.info as Json)['contact'];
  document.servers = [{ url: 'http://127.0.0.1:3000', description: 'npm start (the single-node default)' }];
  document.tags = TAGS;
  const { schemas } = z.toJSONSchema(responseSchemas, { target: 'draft-2020-12', uri: (id) => `#/components/schemas/${id}` }) as { schemas: Json };
  for (const s of Object.values<Json>(schemas)) {
    delete s['$schema'];
    delete s['$id']; // an $id would make the $refs between components resolve against it
  }
  document.components = { securitySchemes: SECURITY_SCHEMES, schemas };

  const undocumented: string[] = [];
  const seen = new Set<string>();
  for (const [path, item] of Object.entries<Json>(document.paths)) {
    for (const [method, o] of Object.entries<Json>(item)) {
      const key = `${method.toUpperCase()} ${path}`;
      const op = OPERATIONS[key];
      if (!op) {
        undocumented.push(key);
        continue;
      }
      seen.add(key);
      applyOperation(o, op);
    }
  }
  return { document, undocumented, unrouted: Object.keys(OPERATIONS).filter((k) => !seen.has(k)) };
}
