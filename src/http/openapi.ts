import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import express, { type Router } from 'express';
import { z } from 'zod';
import type { DeclaredOperation, MediaType, ResponseHeader, ResponseSpec } from './operation-spec.ts';
import { problemSchema, statusTitle } from './problem.ts';
import { COMMON_CODES, type StatusEntry, statusTable } from './responses.ts';

/**
 * The OpenAPI 3.1 document, assembled from the operations the routes declare (operation.ts) and the event
 * catalogue. Every schema in it is converted from the zod schema the code parses or answers with, by
 * `z.toJSONSchema` (JSON Schema 2020-12, which OpenAPI 3.1 uses as is); schemas with a `meta({ id })` become
 * named components.
 */

export interface DocumentInfo {
  title: string;
  version: string;
  description: string;
}

/** One entry of the `webhooks` section: what the platform POSTs to a subscribed endpoint. */
export interface WebhookDoc {
  name: string;
  summary: string;
  description?: string;
  body: z.ZodType;
}

const HEADERS: Record<ResponseHeader, { description: string; schema: Record<string, unknown> }> = {
  Location: { description: 'URL of the created resource', schema: { type: 'string' } },
  'Idempotent-Replayed': {
    description: '`true` when an earlier request with the same Idempotency-Key (or source id) answered',
    schema: { type: 'string', enum: ['true', 'false'] },
  },
  'Retry-After': { description: 'Seconds to wait before trying again', schema: { type: 'string' } },
  ETag: { description: 'Validator for If-None-Match', schema: { type: 'string' } },
  'Cache-Control': { description: 'How long the response may be cached', schema: { type: 'string' } },
  'Content-Disposition': { description: 'The file name to save the download as', schema: { type: 'string' } },
};

/** The shared error responses, used where an operation's codes for a status are the common ones. */
const COMMON_ERRORS: Record<number, { name: string; description: string; example: Record<string, unknown> }> = {
  400: {
    name: 'BadRequest',
    description: 'Invalid input: `validation_failed` with the offending fields, or `invalid_json`.',
    example: { code: 'validation_failed', detail: 'The request is not valid.', errors: [{ field: 'count', message: 'Too big' }] },
  },
  401: { name: 'Unauthorized', description: 'Missing or invalid API key (`unauthorized`).', example: { code: 'unauthorized' } },
  403: {
    name: 'Forbidden',
    description:
      'The key is valid but its role may not do this: an admin operation with a standard key, or a change with a viewer key (`forbidden`).',
    example: { code: 'forbidden' },
  },
  408: {
    name: 'BodyTimeout',
    description: 'The body did not all arrive in time, e.g. shorter than its Content-Length (`request_body_timeout`).',
    example: { code: 'request_body_timeout' },
  },
  413: {
    name: 'PayloadTooLarge',
    description: 'The body exceeds the body limit (`payload_too_large`).',
    example: { code: 'payload_too_large' },
  },
  503: {
    name: 'Unavailable',
    description:
      'A dependency is unavailable (`database_unavailable`) or the request took too long (`request_timeout`); see `Retry-After`.',
    example: { code: 'request_timeout', detail: 'The request took longer than 30000 ms.' },
  },
};

function problemExample(status: number, code: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: `urn:promo:problem:${code}`, title: statusTitle(status), status, code, detail: '…', ...extra };
}

const KNOWN_FORMATS = new Set(['date-time', 'uuid', 'email']);

function withoutPattern({ pattern: _pattern, ...rest }: Record<string, unknown>): Record<string, unknown> {
  return rest;
}

/** Converts zod schemas, collecting named ones (meta id) as components. */
class SchemaComponents {
  readonly schemas: Record<string, Record<string, unknown>> = {};
  readonly #serialized = new Map<string, string>();

  convert(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
    const js = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as Record<string, unknown>;
    const { $schema: _dialect, $defs, ...root } = js;
    const defs = ($defs ?? {}) as Record<string, unknown>;
    // Input and output forms of one named schema can differ (defaults make fields optional): the input one gets its own name.
    const names = new Map<string, string>();
    for (const id of Object.keys(defs)) names.set(id, this.#serialized.has(id) && io === 'input' ? `${id}Input` : id);
    const rewrite = (value: unknown) =>
      JSON.parse(
        JSON.stringify(value).replace(/"#\/\$defs\/([^"]+)"/g, (_m, id: string) => `"#/components/schemas/${names.get(id) ?? id}"`),
        // A well-known format says it all; zod's regular expression for it would repeat on every timestamp.
        (_key, field) => (field && typeof field === 'object' && KNOWN_FORMATS.has(field.format) ? withoutPattern(field) : field),
      ) as Record<string, unknown>;
    for (const [id, def] of Object.entries(defs)) {
      const name = names.get(id) as string;
      const converted = rewrite(def);
      const text = JSON.stringify(converted);
      const existing = this.#serialized.get(name);
      if (existing !== undefined && existing !== text) throw new Error(`OpenAPI: two different schemas are named ${name}`);
      this.#serialized.set(name, text);
      this.schemas[name] = converted;
    }
    return rewrite(root);
  }

  resolve(schema: unknown): Record<string, any> {
    let js = (schema ?? {}) as Record<string, any>;
    for (let i = 0; i < 10 && typeof js.$ref === 'string'; i++) js = this.schemas[js.$ref.replace('#/components/schemas/', '')] ?? {};
    return js;
  }
}

/** A plausible example built from a JSON Schema, for bodies whose schema gives none. */
function sampleFromSchema(components: SchemaComponents, schema: unknown, depth = 0): unknown {
  const js = components.resolve(schema);
  if (depth > 8) return null;
  if (js.example !== undefined) return js.example;
  if (Array.isArray(js.examples) && js.examples.length > 0) return js.examples[0];
  if (js.default !== undefined) return js.default;
  if (js.const !== undefined) return js.const;
  if (Array.isArray(js.enum) && js.enum.length > 0) return js.enum[0];
  for (const key of ['anyOf', 'oneOf', 'allOf']) {
    const options = (js[key] ?? []).filter((o: Record<string, unknown>) => o?.type !== 'null');
    if (options.length > 0) {
      if (key !== 'allOf') return sampleFromSchema(components, options[0], depth + 1);
      return Object.assign({}, ...options.map((o: unknown) => sampleFromSchema(components, o, depth + 1)));
    }
  }
  const type = Array.isArray(js.type) ? js.type.find((t: string) => t !== 'null') : js.type;
  switch (type) {
    case 'object': {
      const props = (js.properties ?? {}) as Record<string, unknown>;
      const required = new Set<string>(js.required ?? []);
      const keys = Object.keys(props);
      // Required fields, or every field when none are required (so the example shows the shape).
      const shown = keys.filter((k) => required.has(k));
      return Object.fromEntries((shown.length > 0 ? shown : keys).map((k) => [k, sampleFromSchema(components, props[k], depth + 1)]));
    }
    case 'array':
      return [sampleFromSchema(components, js.items, depth + 1)];
    case 'integer':
    case 'number':
      return typeof js.minimum === 'number'
        ? Math.max(js.minimum, 0)
        : typeof js.exclusiveMinimum === 'number'
          ? js.exclusiveMinimum + 1
          : 1;
    case 'boolean':
      return true;
    case 'string':
      if (js.format === 'email') return 'ada@example.com';
      if (js.format === 'uuid') return '0f5c1a52-3c1e-4b8e-9a47-2a4f0e1d9b11';
      if (js.format === 'date-time') return '2026-03-01T09:30:00.000Z';
      if (js.format === 'uri') return 'https://example.com/hooks/promo';
      return 'string';
    default:
      return null;
  }
}

export function openApiPath(expressPath: string): string {
  return expressPath.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

function operationId(method: string, path: string): string {
  return `${method}${path
    .replace(/^\/v1/, '')
    .split(/[/.-]/)
    .filter(Boolean)
    .map((s) => (s.startsWith(':') ? `By${s.slice(1, 2).toUpperCase()}${s.slice(2)}` : s.slice(0, 1).toUpperCase() + s.slice(1)))
    .join('')}`;
}

function jsonContent(components: SchemaComponents, schema: z.ZodType, io: 'input' | 'output', example?: unknown) {
  const js = components.convert(schema, io);
  return { schema: js, example: example !== undefined ? example : sampleFromSchema(components, js) };
}

function otherContent(content: Record<string, MediaType>) {
  return Object.fromEntries(
    Object.entries(content).map(([type, media]) => [type, { schema: media.schema ?? { type: 'string' }, ...media }]),
  );
}

function successResponse(components: SchemaComponents, spec: ResponseSpec): Record<string, unknown> {
  const out: Record<string, unknown> = { description: spec.description };
  if (spec.headers) out.headers = Object.fromEntries(spec.headers.map((h) => [h, HEADERS[h]]));
  const content: Record<string, unknown> = {};
  if (spec.schema) content['application/json'] = jsonContent(components, spec.schema, 'output');
  Object.assign(content, otherContent(spec.content ?? {}));
  if (Object.keys(content).length > 0) out.content = content;
  return out;
}

function errorResponse(status: number, entry: StatusEntry): Record<string, unknown> {
  const common = COMMON_ERRORS[status];
  const commonCodes = COMMON_CODES[status] ?? [];
  if (common && (!entry.codes || entry.codes.every((c) => commonCodes.includes(c)))) {
    return { $ref: `#/components/responses/${common.name}` };
  }
  const codes = entry.codes ?? [];
  return {
    description: `${statusTitle(status)}: ${codes.map((c) => `\`${c}\``).join(', ')}.`,
    content: {
      'application/problem+json': {
        schema: { allOf: [{ $ref: '#/components/schemas/Problem' }, { properties: { code: { enum: codes } } }] },
        example: problemExample(status, codes[0] ?? 'error'),
      },
    },
  };
}

function operationObject(components: SchemaComponents, op: DeclaredOperation): Record<string, unknown> {
  const { spec } = op;
  const auth = spec.auth ?? 'key';
  const parameters: Record<string, unknown>[] = Object.entries(spec.params ?? {}).map(([name, param]) => ({
    name,
    in: 'path',
    required: true,
    description: param.description,
    schema: { type: 'string', ...(param.resource ? { format: 'uuid' } : {}) },
  }));
  if (spec.query) {
    const js = components.convert(spec.query, 'input') as { properties?: Record<string, Record<string, unknown>>; required?: string[] };
    for (const [name, prop] of Object.entries(js.properties ?? {})) {
      const { description, ...schema } = prop;
      parameters.push({
        name,
        in: 'query',
        required: (js.required ?? []).includes(name),
        ...(description ? { description } : {}),
        schema,
        ...(schema.type === 'object' ? { style: 'deepObject', explode: true } : {}),
      });
    }
  }
  if (spec.idempotent) {
    parameters.push({
      name: 'Idempotency-Key',
      in: 'header',
      required: false,
      description: 'Repeat the request safely: the same key returns the same result (1–255 visible ASCII characters).',
      schema: { type: 'string', minLength: 1, maxLength: 255 },
    });
  }
  const responses: Record<string, unknown> = {};
  for (const [status, entry] of statusTable(op)) {
    responses[status] = entry.spec ? successResponse(components, entry.spec) : errorResponse(status, entry);
  }
  const operation: Record<string, unknown> = {
    operationId: operationId(spec.method, op.path),
    summary: spec.summary,
    ...(spec.description ? { description: spec.description } : {}),
    tags: [spec.tag],
    ...(parameters.length > 0 ? { parameters } : {}),
    responses,
  };
  if (auth === 'none') operation.security = [];
  else if (auth === 'basic') operation.security = [{ basicAuth: [] }];
  if (spec.body || spec.otherBodies) {
    const content: Record<string, unknown> = {};
    if (spec.body) content['application/json'] = jsonContent(components, spec.body, 'input', spec.bodyExample);
    Object.assign(content, otherContent(spec.otherBodies ?? {}));
    operation.requestBody = { required: true, content };
  }
  return operation;
}

const WEBHOOK_HEADERS = [
  { name: 'webhook-id', description: 'The delivery of this event to this endpoint; the same on every attempt: deduplicate on it' },
  { name: 'webhook-timestamp', description: 'Unix seconds when this attempt was signed' },
  { name: 'webhook-signature', description: 'Standard Webhooks signatures (`v1,<base64>`, space-separated during a secret rotation)' },
].map((h) => ({ ...h, in: 'header', required: true, schema: { type: 'string' } }));

function webhookObject(components: SchemaComponents, hook: WebhookDoc): Record<string, unknown> {
  return {
    post: {
      operationId: `event${hook.name.replace(/(^|[._*-])([a-z])/g, (_m, _s, c: string) => c.toUpperCase()).replace(/[^A-Za-z0-9]/g, '')}`,
      summary: hook.summary,
      ...(hook.description ? { description: hook.description } : {}),
      tags: ['events'],
      parameters: WEBHOOK_HEADERS,
      requestBody: { required: true, content: { 'application/json': jsonContent(components, hook.body, 'output') } },
      responses: { '200': { description: 'Any 2xx within WEBHOOK_TIMEOUT_MS acknowledges the event; anything else is retried' } },
    },
  };
}

export function buildOpenApiDocument(operations: DeclaredOperation[], info: DocumentInfo, webhooks: WebhookDoc[]): Record<string, unknown> {
  const components = new SchemaComponents();
  components.convert(problemSchema, 'output');
  const paths: Record<string, Record<string, unknown>> = {};
  const tags = new Set<string>();
  for (const op of operations) {
    tags.add(op.spec.tag);
    const path = openApiPath(op.path);
    paths[path] ??= {};
    (paths[path] as Record<string, unknown>)[op.spec.method] = operationObject(components, op);
  }
  const hooks = Object.fromEntries(webhooks.map((hook) => [hook.name, webhookObject(components, hook)]));
  const responses = Object.fromEntries(
    Object.entries(COMMON_ERRORS).map(([status, e]) => [
      e.name,
      {
        description: e.description,
        content: {
          'application/problem+json': {
            schema: { $ref: '#/components/schemas/Problem' },
            example: problemExample(Number(status), String(e.example.code), e.example),
          },
        },
      },
    ]),
  );
  return {
    openapi: '3.1.0',
    info: { ...info, license: { name: 'MIT', identifier: 'MIT' } },
    servers: [{ url: '/', description: 'This platform' }],
    security: [{ bearerAuth: [] }],
    tags: [...[...tags].map((name) => ({ name })), { name: 'events', description: 'What webhooks deliver (and GET /v1/events lists)' }],
    paths,
    webhooks: hooks,
    components: {
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer', description: 'An API key: `Authorization: Bearer pk_…`' },
        basicAuth: { type: 'http', scheme: 'basic', description: 'Browser UIs: any user name, the admin API key as password.' },
      },
      schemas: components.schemas,
      responses,
    },
  };
}

const require = createRequire(import.meta.url);

/** Swagger UI's files, served from node_modules (no CDN). */
export const SWAGGER_ASSETS = dirname(require.resolve('swagger-ui-dist/package.json'));

const SWAGGER_INITIALIZER = `window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: '/openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    validatorUrl: null,
    persistAuthorization: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: 'StandaloneLayout',
  });
};
`;

let swaggerIndex: Promise<string> | undefined;

/** Swagger UI's page, titled for this API. */
export function swaggerIndexHtml(): Promise<string> {
  swaggerIndex ??= readFile(`${SWAGGER_ASSETS}/index.html`, 'utf8').then((html) =>
    html.replace(/<title>[^<]*<\/title>/, '<title>promo API reference</title>'),
  );
  return swaggerIndex;
}

/** Swagger UI's assets and its initializer pointing at /openapi.json, under /docs/. */
export function swaggerAssetsRouter(): Router {
  const router = express.Router();
  router.get('/swagger-initializer.js', (_req, res) => {
    res.type('application/javascript').send(SWAGGER_INITIALIZER);
  });
  router.use(express.static(SWAGGER_ASSETS, { index: false, maxAge: '1d' }));
  return router;
}
