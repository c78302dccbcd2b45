import type { Request, RequestHandler, Response, Router } from 'express';
import type { z } from 'zod';
import { retriable } from '../db/sql.ts';
import { NotFoundError, ValidationError } from '../shared/errors.ts';
import { idSchema } from '../shared/fields.ts';
import { findUnstorable } from '../shared/storable.ts';
import type {
  Auth,
  DeclaredOperation,
  Method,
  OperationCall,
  OperationReply,
  OperationSpec,
  PathParam,
  ResponseHeader,
  ResponseSpec,
} from './operation-spec.ts';
import { checkResponses } from './response-contract.ts';
import { parse } from './validate.ts';

/**
 * Every route declares its operation beside its handler: what it takes (path, query and body schemas), what it
 * answers (a schema per status), its auth and its error codes. `route()` parses the request with those very schemas,
 * gives the handler typed input, types the handler's reply by the declared responses, and records the operation;
 * the OpenAPI document (openapi.ts) is assembled from the recorded operations, so it cannot describe a route that
 * does not exist or a shape the route does not answer with.
 */

export type * from './operation-spec.ts';

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

/** A JSON response in short: its description, its body's schema and the headers it sets. */
export type ShortResponse = readonly [description: string, schema: z.ZodType, headers?: readonly ResponseHeader[]];

/** The statuses a compact declaration names by word. */
const SHORT_STATUSES = { ok: 200, created: 201, accepted: 202 } as const;
type ShortStatus = keyof typeof SHORT_STATUSES;

/**
 * An operation as a module declares it on `routesOf()`: the method and path come from the call, the tag (and auth)
 * from the module unless given, and the usual responses by word: `ok` (200), `created` (201), `accepted` (202),
 * `noContent` (204, its description). Other statuses go in `responses`, as with `route()`.
 */
export type CompactSpec = Omit<OperationSpec, 'method' | 'path' | 'tag' | 'responses'> & {
  [S in ShortStatus]?: ShortResponse;
} & {
  tag?: string;
  noContent?: string;
  responses?: Record<number, ResponseSpec>;
};

type ShortResponses<C> = {
  [S in ShortStatus as C extends { [K in S]: ShortResponse } ? (typeof SHORT_STATUSES)[S] : never]: C extends {
    [K in S]: readonly [string, infer T extends z.ZodType, ...unknown[]];
  }
    ? { description: string; schema: T }
    : never;
};
type NoContentOf<C> = C extends { noContent: string } ? { 204: { description: string } } : unknown;
type DeclaredResponsesOf<C> = C extends { responses: infer R extends Record<number, ResponseSpec> } ? R : unknown;

/** The operation a compact declaration stands for: what `route()` would have been given. */
export type ExpandedSpec<M extends Method, C> = Omit<C, ShortStatus | 'noContent' | 'responses' | 'tag'> & {
  method: M;
  path: string;
  tag: string;
  responses: ShortResponses<C> & NoContentOf<C> & DeclaredResponsesOf<C>;
};

type PathParams = Record<string, PathParam>;
type Errors = Record<number, readonly string[]>;

/** The compact declaration as `route()` sees it: with the path parameters of the resource it hangs off, if any. */
type InScope<C, P> = P extends PathParams ? C & { params: P } : C;

type HandlerOf<M extends Method, C, P> = NoInfer<
  ExpandedSpec<M, InScope<C, P>> extends infer O extends OperationSpec ? RouteHandler<O> : never
>;

type Declare<M extends Method, P extends PathParams | undefined> = <const C extends CompactSpec>(
  path: string,
  spec: C,
  handler: HandlerOf<M, C, P>,
) => void;

/** On a resource, without a path: the resource itself. */
type DeclareItem<M extends Method, P extends PathParams> = Declare<M, P> &
  (<const C extends CompactSpec>(spec: C, handler: HandlerOf<M, C, P>) => void);

type Joined<P, Q> = P extends PathParams ? P & Q : Q;

/** Where item routes hang: `resource(path, 'export')` for `<path>` ending in `/:id` (a UUID), or its own parameters. */
interface Scopes<P extends PathParams | undefined> {
  resource(path: string, resource: string, shared?: { errors?: Errors }): ResourceRoutes<Joined<P, { id: PathParam }>>;
  resource<const Q extends PathParams>(path: string, params: Q, shared?: { errors?: Errors }): ResourceRoutes<Joined<P, Q>>;
}

/** One module's way to declare its routes: `api.get(path, spec, handler)` is `route()` with the module's defaults. */
export type ModuleRoutes = { [M in Method]: Declare<M, undefined> } & Scopes<undefined>;

/**
 * The routes of one resource (`api.resource('/exports/:id', 'export')`): their paths are relative to the resource's
 * (none is the resource itself), and the path parameters (with their 404 for an id that names nothing) and any
 * errors every one of them answers are declared once, on the resource.
 */
export type ResourceRoutes<P extends PathParams> = { [M in Method]: DeclareItem<M, P> } & Scopes<P> & {
    /** `GET` the resource: answered with its view (`read` throws NotFoundError when there is none, which maps to 404 once, in http/). */
    read<S extends z.ZodType>(
      spec: Pick<CompactSpec, 'errors' | 'summary'> & { ok: readonly [string, S] },
      read: (params: { [K in keyof P]: string }) => Promise<z.output<S>>,
    ): void;
    /** `DELETE` the resource: runs `remove` and answers 204 (`noContent` describes it). */
    remove(
      spec: Pick<CompactSpec, 'errors' | 'summary'> & { noContent: string },
      remove: (params: { [K in keyof P]: string }) => Promise<unknown>,
    ): void;
  };

function responseOf([description, schema, headers]: ShortResponse): ResponseSpec {
  return headers ? { description, schema, headers } : { description, schema };
}

function expandSpec(method: Method, path: string, defaults: { tag: string; auth?: Auth }, spec: CompactSpec): OperationSpec {
  const { ok, created, accepted, noContent, responses, ...rest } = spec;
  const all: Record<number, ResponseSpec> = { ...responses };
  for (const [word, short] of Object.entries({ ok, created, accepted })) {
    if (short) all[SHORT_STATUSES[word as ShortStatus]] = responseOf(short);
  }
  if (noContent !== undefined) all[204] = { description: noContent };
  return { ...defaults, ...rest, method, path, responses: all };
}

/** What the routes under one path share: the path, its parameters and the errors all of them answer. */
interface Scope {
  path: string;
  params?: PathParams;
  errors?: Errors;
}

/** The codes of both, status by status, the scope's first. */
function joinErrors(scope: Errors | undefined, own: Errors | undefined): Errors | undefined {
  if (!scope || !own) return scope ?? own;
  const all: Record<number, readonly string[]> = { ...scope };
  for (const [status, codes] of Object.entries(own)) all[Number(status)] = [...(scope[Number(status)] ?? []), ...codes];
  return all;
}

function inScope(scope: Scope, spec: CompactSpec): CompactSpec {
  const errors = joinErrors(scope.errors, spec.errors);
  return {
    ...spec,
    ...(scope.params ? { params: { ...scope.params, ...spec.params } } : {}),
    ...(errors ? { errors } : {}),
  };
}

/** What `routesIn` builds, before the types of ModuleRoutes and ResourceRoutes hold the handlers to their specs. */
type DeclareArgs = [path: string, spec: CompactSpec, handler: RouteHandler<any>] | [spec: CompactSpec, handler: RouteHandler<any>];
type Routes = Record<Method, (...args: DeclareArgs) => void> & {
  resource(path: string, params: string | PathParams, shared?: { errors?: Errors }): Routes;
  read(spec: CompactSpec, read: (params: Record<string, string>) => Promise<unknown>): void;
  remove(spec: CompactSpec, remove: (params: Record<string, string>) => Promise<unknown>): void;
};

function routesIn(target: RouteTarget, defaults: { tag: string; auth?: Auth }, scope: Scope): Routes {
  const at = (method: Method, path: string, spec: CompactSpec, handler: RouteHandler<any>): void =>
    route(target, expandSpec(method, `${scope.path}${path}`, defaults, inScope(scope, spec)), handler);
  const declare =
    (method: Method) =>
    (...args: DeclareArgs): void =>
      args.length === 3 ? at(method, ...args) : at(method, '', ...args);
  return {
    get: declare('get'),
    post: declare('post'),
    put: declare('put'),
    patch: declare('patch'),
    delete: declare('delete'),
    resource: (path, params, shared = {}) => {
      if (typeof params === 'string' && !path.endsWith('/:id')) throw new Error(`${path}: a resource named by its id ends in /:id`);
      return routesIn(target, defaults, {
        path: `${scope.path}${path}`,
        params: { ...scope.params, ...(typeof params === 'string' ? idParams(params) : params) },
        errors: joinErrors(scope.errors, shared.errors),
      });
    },
    read: (spec, read) => at('get', '', spec, async ({ params }) => ({ status: 200, body: await read(params as Record<string, string>) })),
    remove: (spec, remove) =>
      at('delete', '', spec, async ({ params }) => {
        await remove(params as Record<string, string>);
        return { status: 204 };
      }),
  };
}

/** Routes of one module, declared compactly: `const api = routesOf(routes, { tag: 'exports' })`. */
export function routesOf(target: RouteTarget, defaults: { tag: string; auth?: Auth }): ModuleRoutes {
  return routesIn(target, defaults, { path: '' }) as unknown as ModuleRoutes;
}

/** A path segment that is the id (a UUID) of a resource. */
export function idParam(resource: string): PathParam {
  return { description: `The ${resource.replaceAll('_', ' ')}'s id (UUID)`, resource };
}

/** The path parameters of a route under `/<resources>/:id`: the id of one `resource`. */
export function idParams(resource: string): { id: PathParam } {
  return { id: idParam(resource) };
}

/** A voucher code in the path (case-insensitive, as printed). */
export const codeParam: PathParam = { description: 'Voucher code (case-insensitive)' };
