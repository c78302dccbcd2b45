import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import express, { type Express } from 'express';
import { z } from 'zod';

/**
 * The OpenAPI 3.1 document is built from route specs (src/http/openapi-routes.ts) whose request bodies and
 * query strings are the very zod schemas the routes parse with: one source of truth, converted with
 * `z.toJSONSchema` (JSON Schema 2020-12, which OpenAPI 3.1 uses as is).
 */

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
export type Auth = 'key' | 'admin' | 'basic' | 'none';

export interface ResponseSpec {
  description: string;
  /** A zod schema, a JSON Schema object, or a media-type map for non-JSON bodies. */
  schema?: z.ZodType | Record<string, unknown>;
  example?: unknown;
  content?: Record<string, { schema?: Record<string, unknown>; example?: unknown }>;
  headers?: Record<string, { description: string; schema?: Record<string, unknown> }>;
}

export interface RouteSpec {
  method: Method;
  /** Express syntax (`/v1/campaigns/:id`); converted to `{id}`. */
  path: string;
  summary: string;
  description?: string;
  tag: string;
  auth?: Auth;
  body?: z.ZodType;
  bodyExample?: unknown;
  /** Other request media types (CSV uploads). */
  bodyContent?: Record<string, { schema?: Record<string, unknown>; example?: unknown }>;
  query?: z.ZodType;
  params?: Record<string, string>;
  idempotent?: boolean;
  responses: Record<number, ResponseSpec>;
  /** Error statuses besides the automatic ones (400 for input, 401/403 for auth, 404 for path ids, 413, 503). */
  errors?: number[];
}

const problemSchema = {
  type: 'object',
  description: 'RFC 9457 problem details, with a stable machine-readable `code`.',
  required: ['type', 'title', 'status', 'code', 'detail'],
  properties: {
    type: { type: 'string', examples: ['urn:promo:problem:validation_failed'] },
    title: { type: 'string' },
    status: { type: 'integer' },
    code: { type: 'string', description: 'Stable error code to branch on' },
    detail: { type: 'string', description: 'Human-readable explanation' },
    instance: { type: 'string' },
    errors: {
      type: 'array',
      description: 'Offending fields (400 validation_failed)',
      items: { type: 'object', required: ['field', 'message'], properties: { field: { type: 'string' }, message: { type: 'string' } } },
    },
  },
  additionalProperties: true,
};

const p = (status: number, title: string, code: string, detail: string, extra: Record<string, unknown> = {}) => ({
  type: `urn:promo:problem:${code}`,
  title,
  status,
  code,
  detail,
  ...extra,
});

const ERROR_RESPONSES: Record<number, { name: string; description: string; example: unknown }> = {
  400: {
    name: 'BadRequest',
    description: 'Invalid input: `validation_failed` with the offending fields, or `invalid_json`.',
    example: p(400, 'Bad Request', 'validation_failed', 'The request is not valid.', {
      errors: [{ field: 'count', message: 'Too big: expected number to be <=50000000' }],
    }),
  },
  401: {
    name: 'Unauthorized',
    description: 'Missing or invalid API key (`unauthorized`).',
    example: p(401, 'Unauthorized', 'unauthorized', 'An API key is required.'),
  },
  403: {
    name: 'Forbidden',
    description: 'The key is valid but lacks the role (`forbidden`: admin only).',
    example: p(403, 'Forbidden', 'forbidden', 'This needs an admin API key.'),
  },
  404: {
    name: 'NotFound',
    description: 'Unknown resource (`<resource>_not_found`).',
    example: p(404, 'Not Found', 'campaign_not_found', 'No campaign with id "6b1f…".'),
  },
  409: {
    name: 'Conflict',
    description: 'The resource is in a state that does not allow this (e.g. `idempotency_key_reused`, `job_not_failed`).',
    example: p(409, 'Conflict', 'idempotency_key_reused', 'This Idempotency-Key was used with a different request.'),
  },
  410: {
    name: 'Gone',
    description: 'The resource existed but is gone for good (`export_expired`).',
    example: p(410, 'Gone', 'export_expired', 'The export expired and its file was removed; request a new one.'),
  },
  413: {
    name: 'PayloadTooLarge',
    description: 'The body exceeds HTTP_BODY_LIMIT (`payload_too_large`).',
    example: p(413, 'Content Too Large', 'payload_too_large', 'The request body is too large.'),
  },
  415: {
    name: 'UnsupportedMediaType',
    description: 'The body is in a media type the route does not take (`unsupported_media_type`).',
    example: p(
      415,
      'Unsupported Media Type',
      'unsupported_media_type',
      'Send the codes as text/csv, or as a JSON array (application/json).',
    ),
  },
  422: {
    name: 'Unprocessable',
    description: 'Well-formed but refused by a business rule (e.g. `code_space_exhausted`, a redemption refusal reason).',
    example: p(422, 'Unprocessable Content', 'code_space_too_small', 'Issued codes would exceed one in a million of the pattern space.'),
  },
  429: {
    name: 'TooManyRequests',
    description: 'Rate limited or locked out by the guessing defence (`too_many_attempts`); see `Retry-After`.',
    example: p(429, 'Too Many Requests', 'too_many_attempts', 'Too many failed attempts; try again later.'),
  },
  503: {
    name: 'Unavailable',
    description: 'The request did not complete within HTTP_REQUEST_TIMEOUT_MS (`request_timeout`) or a dependency is down.',
    example: p(503, 'Service Unavailable', 'request_timeout', 'The request took longer than 30000 ms.'),
  },
};

/** zod → JSON Schema for a request (input side: defaults make fields optional), without the `$schema` key. */
export function jsonSchema(schema: z.ZodType, io: 'input' | 'output' = 'input'): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as Record<
    string,
    unknown
  >;
  return rest;
}

function isZod(value: unknown): value is z.ZodType {
  return typeof value === 'object' && value !== null && '_zod' in value;
}

export function openApiPath(expressPath: string): string {
  return expressPath.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

function pathParams(path: string): string[] {
  return [...path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1] as string);
}

function queryParameters(schema: z.ZodType): Record<string, unknown>[] {
  const js = jsonSchema(schema) as { properties?: Record<string, Record<string, unknown>>; required?: string[] };
  return Object.entries(js.properties ?? {}).map(([name, prop]) => {
    const { description, ...rest } = prop;
    const isObject = rest.type === 'object';
    return {
      name,
      in: 'query',
      required: (js.required ?? []).includes(name),
      ...(description ? { description } : {}),
      schema: rest,
      ...(isObject ? { style: 'deepObject', explode: true } : {}),
    };
  });
}

/** A plausible example built from a JSON Schema, for operations whose spec gives none. */
export function sampleFromSchema(schema: unknown, depth = 0): unknown {
  const js = (schema ?? {}) as Record<string, any>;
  if (depth > 6) return null;
  if (js.example !== undefined) return js.example;
  if (Array.isArray(js.examples) && js.examples.length > 0) return js.examples[0];
  if (js.default !== undefined) return js.default;
  if (js.const !== undefined) return js.const;
  if (Array.isArray(js.enum) && js.enum.length > 0) return js.enum[0];
  for (const key of ['anyOf', 'oneOf', 'allOf']) {
    const options = (js[key] ?? []).filter((o: Record<string, unknown>) => o?.type !== 'null');
    if (options.length > 0) {
      if (key !== 'allOf') return sampleFromSchema(options[0], depth + 1);
      return Object.assign({}, ...options.map((o: unknown) => sampleFromSchema(o, depth + 1)));
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
      return Object.fromEntries((shown.length > 0 ? shown : keys).map((k) => [k, sampleFromSchema(props[k], depth + 1)]));
    }
    case 'array':
      return [sampleFromSchema(js.items, depth + 1)];
    case 'integer':
    case 'number':
      return typeof js.minimum === 'number' ? js.minimum : typeof js.exclusiveMinimum === 'number' ? js.exclusiveMinimum + 1 : 1;
    case 'boolean':
      return true;
    case 'string':
      if (js.format === 'email') return 'ada@example.com';
      if (js.format === 'uuid') return '0f5c1a52-3c1e-4b8e-9a47-2a4f0e1d9b11';
      if (js.format === 'date-time') return '2026-03-01T09:30:00Z';
      if (js.format === 'uri') return 'https://example.com/hooks/promo';
      return 'string';
    default:
      return null;
  }
}

function responseObject(spec: ResponseSpec): Record<string, unknown> {
  const out: Record<string, unknown> = { description: spec.description };
  if (spec.headers) out.headers = spec.headers;
  if (spec.content) out.content = spec.content;
  else if (spec.schema || spec.example !== undefined) {
    const schema = spec.schema ? (isZod(spec.schema) ? jsonSchema(spec.schema, 'output') : spec.schema) : { type: 'object' };
    out.content = { 'application/json': { schema, example: spec.example !== undefined ? spec.example : sampleFromSchema(schema) } };
  }
  return out;
}

export interface DocumentInfo {
  title: string;
  version: string;
  description: string;
}

export function buildOpenApiDocument(routes: RouteSpec[], info: DocumentInfo): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const tags = new Set<string>();
  for (const route of routes) {
    const auth = route.auth ?? 'key';
    const parameters: Record<string, unknown>[] = pathParams(route.path).map((name) => ({
      name,
      in: 'path',
      required: true,
      description: route.params?.[name] ?? name,
      schema: { type: 'string' },
    }));
    if (route.query) parameters.push(...queryParameters(route.query));
    if (route.idempotent) {
      parameters.push({
        name: 'Idempotency-Key',
        in: 'header',
        required: false,
        description: 'Repeat the request safely: the same key returns the same result (1–255 visible ASCII characters).',
        schema: { type: 'string', minLength: 1, maxLength: 255 },
      });
    }
    const responses: Record<string, unknown> = {};
    for (const [status, spec] of Object.entries(route.responses)) responses[status] = responseObject(spec);
    const errors = new Set<number>(route.errors ?? []);
    if (route.path.startsWith('/v1/')) errors.add(503);
    if (route.body || route.query || route.idempotent) errors.add(400);
    if (route.body) errors.add(413);
    if (auth === 'key' || auth === 'admin' || auth === 'basic') errors.add(401);
    if (auth === 'admin') errors.add(403);
    if (pathParams(route.path).length > 0) errors.add(404);
    for (const status of [...errors].sort()) {
      if (responses[status]) continue;
      const known = ERROR_RESPONSES[status];
      if (known) responses[status] = { $ref: `#/components/responses/${known.name}` };
    }
    const operation: Record<string, unknown> = {
      operationId: `${route.method}${route.path
        .replace(/^\/v1/, '')
        .split(/[/.-]/)
        .filter(Boolean)
        .map((s) => (s.startsWith(':') ? `By${s.slice(1, 2).toUpperCase()}${s.slice(2)}` : s.slice(0, 1).toUpperCase() + s.slice(1)))
        .join('')}`,
      summary: route.summary,
      ...(route.description ? { description: route.description } : {}),
      tags: [route.tag],
      ...(parameters.length ? { parameters } : {}),
      responses,
    };
    if (auth === 'none') operation.security = [];
    else if (auth === 'basic') operation.security = [{ basicAuth: [] }];
    if (route.body || route.bodyContent) {
      const content: Record<string, unknown> = {};
      if (route.body) {
        const schema = jsonSchema(route.body);
        content['application/json'] = { schema, example: route.bodyExample !== undefined ? route.bodyExample : sampleFromSchema(schema) };
      }
      Object.assign(content, route.bodyContent ?? {});
      operation.requestBody = { required: true, content };
    }
    tags.add(route.tag);
    const path = openApiPath(route.path);
    paths[path] ??= {};
    (paths[path] as Record<string, unknown>)[route.method] = operation;
  }
  const responses = Object.fromEntries(
    Object.values(ERROR_RESPONSES).map((e) => [
      e.name,
      {
        description: e.description,
        content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' }, example: e.example } },
      },
    ]),
  );
  return {
    openapi: '3.1.0',
    info: { ...info, license: { name: 'MIT', identifier: 'MIT' } },
    servers: [{ url: '/', description: 'This platform' }],
    security: [{ bearerAuth: [] }],
    tags: [...tags].map((name) => ({ name })),
    paths,
    components: {
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer', description: 'An API key: `Authorization: Bearer pk_…`' },
        basicAuth: { type: 'http', scheme: 'basic', description: 'Browser UIs: any user name, the API key as password.' },
      },
      schemas: { Problem: problemSchema },
      responses,
    },
  };
}

const require = createRequire(import.meta.url);

/** `/openapi.json` and a browsable reference at `/docs` (Swagger UI served from node_modules, no CDN). */
export function mountApiDocs(app: Express, document: () => Record<string, unknown>): void {
  let cached: string | undefined;
  app.get('/openapi.json', (_req, res) => {
    cached ??= JSON.stringify(document());
    res.type('application/json').send(cached);
  });
  const assets = dirname(require.resolve('swagger-ui-dist/package.json'));
  const initializer = `window.onload = function () {
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
  let indexHtml: Promise<string> | undefined;
  app.get('/docs', async (req, res) => {
    if (!req.originalUrl.split('?')[0]?.endsWith('/')) return res.redirect(301, '/docs/');
    indexHtml ??= readFile(`${assets}/index.html`, 'utf8').then((html) =>
      html.replace(/<title>[^<]*<\/title>/, '<title>promo API reference</title>'),
    );
    res.type('html').send(await indexHtml);
  });
  app.get('/docs/swagger-initializer.js', (_req, res) => {
    res.type('application/javascript').send(initializer);
  });
  app.use('/docs', express.static(assets, { index: false, maxAge: '1d' }));
}
