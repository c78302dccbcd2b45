import type { Request, Response } from 'express';
import type { z } from 'zod';

/**
 * What an operation is, as data: the declaration a route makes (operation.ts) and that the OpenAPI document
 * (openapi.ts), the status table (responses.ts) and the response check (response-contract.ts) read. Types only, so
 * those readers need not import the code that mounts routes.
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
