import type { Request, Response } from 'express';
import type { ApiKeyIdentity } from '../auth/api-keys.ts';
import { permits, refusal } from '../http/access.ts';
import type { DeclaredOperation, Method } from '../http/operation.ts';
import type { Platform } from '../platform.ts';
import { DomainError } from '../shared/errors.ts';
import type { ConsoleSession } from './sessions.ts';

export const CONSOLE_PATH = '/console';

/** What a console page or action has to hand: the request, its session, and the API's operations. */
export interface ConsoleRequest {
  req: Request;
  res: Response;
  platform: Platform;
  session: ConsoleSession;
  identity: ApiKeyIdentity;
  /** Whether this session's key may change things (admin); a viewer sees no forms. */
  canChange: boolean;
  now: Date;
  /** Runs one of the API's declared operations in this process, as this session's key. */
  call(method: Method, path: string, input?: CallInput): Promise<CallReply>;
}

export interface CallInput {
  params?: Record<string, string>;
  query?: Record<string, unknown>;
  body?: unknown;
  /** Sent as the operation's Idempotency-Key. */
  idempotencyKey?: string;
}

export type CallReply = { status: number; body?: any; headers?: Record<string, string> } | undefined;

/**
 * In-process calls of the API's declared operations: the console changes (and mostly reads) through exactly what
 * /v1 runs, the same schemas, use-cases and errors, with the same access rule applied to the session's key.
 */
export class OperationCaller {
  readonly #operations: DeclaredOperation[];
  #index: Map<string, DeclaredOperation> | undefined;

  constructor(operations: DeclaredOperation[]) {
    this.#operations = operations;
  }

  /** The declared operation, by method and full path (`/v1/campaigns/:id`). */
  find(method: Method, path: string): DeclaredOperation {
    // Built on first use: every route is declared by then (the app declares them all before it serves).
    this.#index ??= new Map(this.#operations.map((op) => [`${op.spec.method} ${op.path}`, op]));
    const op = this.#index.get(`${method} ${path}`);
    if (!op?.run) throw new Error(`no declared operation ${method.toUpperCase()} ${path}`);
    return op;
  }

  async call(
    req: Request,
    res: Response,
    identity: ApiKeyIdentity,
    method: Method,
    path: string,
    input: CallInput = {},
  ): Promise<CallReply> {
    const op = this.find(method, path);
    const auth = op.spec.auth ?? 'key';
    if (!permits(identity.role, method, auth)) throw new DomainError('forbidden', 'forbidden', refusal(identity.role, auth));
    if (input.idempotencyKey !== undefined) req.headers['idempotency-key'] = input.idempotencyKey;
    else delete req.headers['idempotency-key'];
    return (op.run as NonNullable<DeclaredOperation['run']>)({
      req,
      res,
      params: input.params ?? {},
      query: input.query ?? {},
      body: input.body,
    });
  }
}
