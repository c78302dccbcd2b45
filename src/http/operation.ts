import type { Request, RequestHandler, Response, Router } from 'express';
import type { z } from 'zod';
import { retriable } from '../db/sql.ts';
import { NotFoundError, ValidationError } from '../shared/errors.ts';
import { idSchema } from '../shared/fields.ts';
import { findUnstorable } from '../shared/storable.ts';
import { checkResponses } from './response-contract.ts';
import { parse } from './validate.ts';

/**
 * Every route declares its operation beside its handler: what it takes (path, query and body schemas), what it
 * answers (a schema per status), its auth and its error codes. `route()` parses the request with those very schemas,
 * gives the handler typed input, types the handler's reply by the declared responses, and records the operation;
 * the OpenAPI document (openapi.ts) is assembled from the recorded operations, so it cannot describe a route that
 * does not exist or a shape the route does not answer with.
 */

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** `key`: any API key; `admin`: an admin key; `basic`: an admin key as HTTP Basic password (browser UIs); `none`: public. */
export type Auth = 'none' | 'key' | 'admin' | 'basic';

/** A body in a media type other than JSON (images, CSV, HTML, text), documented as JSON Schema. */
export interface MediaType {
  schema?: Record<string, unknown>;
  example?: unknown;
}

/** Response headers an operation may set; openapi.ts documents each once. */
export type ResponseHeader = 'Location' | 'Idempotent-Replayed' | 'Retry-After' | 'ETag' | 'Cache-Control' | 'Content-Disposition';

export interface ResponseSpec {
  description: string;
  /** The JSON body (application/json; application/problem+json for 4xx and 5xx). */
  schema?: z.ZodType;
  /** Bodies in other media types. */
  content?: Record<string, MediaType>;
  headers?: readonly ResponseHeader[];
}

export interface PathParam {
  description: string;
  /** The id (a UUID) of this resource: anything that is not a UUID cannot exist and answers 404 `<resource>_not_found`. */
  resource?: string;
}

export interface OperationSpec {
  method: Method;
  /** Express syntax (`/campaigns/:id`), relative to the router the route is declared on. */
  path: string;
  summary: string;
  description?: string;
  tag: string;
  /** Default `key`. */
  auth?: Auth;
  params?: Record<string, PathParam>;
  query?: z.ZodType;
  /** The JSON request body. */
  body?: z.ZodType;
  bodyExample?: unknown;
  /** Request bodies in other media types, read by the handler itself (streamed CSV uploads). */
  otherBodies?: Record<string, MediaType>;
  /** Takes an `Idempotency-Key` header. */
  idempotent?: boolean;
  responses: Record<number, ResponseSpec>;
  /** Problem codes this operation answers with, by status, besides those every operation of its kind has. */
  errors?: Record<number, readonly string[]>;
}

/** A request's parts as an operation reads them, before its schemas parse them. */
export interface OperationCall {
  req: Request;
  res: Response;
  params: Record<string, string>;
  query?: unknown;
  body?: unknown;
}

/** What an operation answered: a declared status and body, or nothing when it wrote the response itself. */
export type OperationReply = { status: number; body?: unknown; headers?: Record<string, string> } | undefined;

/** An operation as mounted: its spec and its full path. */
export interface DeclaredOperation {
  spec: OperationSpec;
  path: string;
  /**
   * Runs the operation as its route does (the same parsing, the same handler, the same errors thrown), for a caller
   * in this process that has already authenticated and authorized the request (the console). Absent on mounts.
   */
  run?: (call: OperationCall) => Promise<OperationReply>;
}

type ParamsOf<O> = O extends { params: infer P extends Record<string, PathParam> } ? { [K in keyof P]: string } : Record<string, never>;
type QueryOf<O> = O extends { query: infer Q extends z.ZodType } ? z.output<Q> : undefined;
type BodyOf<O> = O extends { body: infer B extends z.ZodType }
  ? O extends { otherBodies: object }
    ? z.output<B> | undefined
    : z.output<B>
  : undefined;

/** What a handler answers: one of the declared statuses, with a body of that status's schema. */
export type Reply<O extends OperationSpec> = {
  [S in Extract<keyof O['responses'], number>]: O['responses'][S] extends { schema: infer T extends z.ZodType }
    ? { status: S; body: z.output<T>; headers?: Record<string, string> }
    : { status: S; headers?: Record<string, string> };
}[Extract<keyof O['responses'], number>];

export interface RouteInput<O extends OperationSpec> {
  req: Request;
  res: Response;
  params: ParamsOf<O>;
  query: QueryOf<O>;
  body: BodyOf<O>;
}

/** Returns the reply, or nothing when it wrote the response itself (streams, images, problems). */
export type RouteHandler<O extends OperationSpec> = (input: RouteInput<O>) => Promise<Reply<O> | undefined> | Reply<O> | undefined;

/** Where routes are declared: an express router mounted at `prefix`, the operations recorded so far, and how each auth is enforced. */
export interface RouteTarget {
  router: Router;
  prefix: string;
  operations: DeclaredOperation[];
  /** The middleware that enforces an operation's auth on this router (none when the router already did). */
  guard(auth: Auth): RequestHandler[];
  /** Check every response against the declared schemas (HTTP_RESPONSE_VALIDATION). */
  validateResponses: boolean;
}

export function fullPath(target: RouteTarget, path: string): string {
  return `${target.prefix}${path}`.replace(/(.)\/$/, '$1');
}

function parseParams(spec: OperationSpec, raw: Record<string, string>): Record<string, string> {
  const params: Record<string, string> = {};
  for (const [name, param] of Object.entries(spec.params ?? {})) {
    const value = raw[name] as string;
    if (param.resource && !idSchema.safeParse(value).success) throw new NotFoundError(param.resource, value);
    params[name] = value;
  }
  return params;
}

/** Whether the request carries one of the operation's non-JSON bodies, which its handler reads itself. */
function otherBody(spec: OperationSpec, req: Request): boolean {
  return spec.otherBodies !== undefined && Object.keys(spec.otherBodies).some((type) => req.is(type));
}

function send(res: Response, spec: OperationSpec, reply: { status: number; body?: unknown; headers?: Record<string, string> }): void {
  if (reply.headers) res.set(reply.headers);
  res.status(reply.status);
  if (spec.responses[reply.status]?.schema) res.json(reply.body);
  else res.end();
}

/** Declares an operation and mounts its handler. */
export function route<const O extends OperationSpec>(target: RouteTarget, spec: O, handler: RouteHandler<NoInfer<O>>): void {
  const run = async ({ req, res, params, query, body }: OperationCall): Promise<OperationReply> => {
    const jsonBody = spec.body !== undefined && !otherBody(spec, req);
    // Before any schema (or anything recursive) sees them: every part of the request the operation reads, whole.
    const unstorable =
      (spec.params ? findUnstorable(params) : null) ??
      (spec.query ? findUnstorable(query) : null) ??
      (jsonBody ? findUnstorable(body) : null);
    if (unstorable) throw new ValidationError([unstorable]);
    const input = {
      req,
      res,
      params: parseParams(spec, params),
      query: spec.query ? parse(spec.query, query) : undefined,
      body: jsonBody && spec.body ? parse(spec.body, body) : undefined,
    } as RouteInput<O>;
    try {
      return (await handler(input)) as OperationReply;
    } catch (error) {
      // A read is idempotent: a connection lost under it is tried once more on a fresh one before the 503.
      if (spec.method !== 'get' || res.headersSent || !retriable(error)) throw error;
      return (await handler(input)) as OperationReply;
    }
  };
  const declared: DeclaredOperation = { spec, path: fullPath(target, spec.path), run };
  target.operations.push(declared);
  const handle: RequestHandler = async (req, res) => {
    if (target.validateResponses) checkResponses(declared, req, res);
    const reply = await run({ req, res, params: req.params as Record<string, string>, query: req.query, body: req.body });
    if (reply) send(res, spec, reply);
  };
  target.router[spec.method](spec.path, ...target.guard(spec.auth ?? 'key'), handle);
}

/** Declares an operation served by a whole sub-application (Bull Board), mounted at its path. */
export function mount(target: RouteTarget, spec: OperationSpec & { method: 'get' }, app: RequestHandler): void {
  target.operations.push({ spec, path: fullPath(target, spec.path) });
  target.router.use(spec.path, ...target.guard(spec.auth ?? 'key'), app);
}

/** A path segment that is the id (a UUID) of a resource. */
export function idParam(resource: string): PathParam {
  return { description: `The ${resource.replaceAll('_', ' ')}'s id (UUID)`, resource };
}

/** A voucher code in the path (case-insensitive, as printed). */
export const codeParam: PathParam = { description: 'Voucher code (case-insensitive)' };
