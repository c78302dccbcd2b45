import type { Request, Response } from 'express';
import type { DeclaredOperation } from './operation-spec.ts';
import { problem, problemSchema } from './problem.ts';
import { statusTable } from './responses.ts';

/**
 * HTTP_RESPONSE_VALIDATION (on in the tests): every response a declared route sends is checked against what its
 * operation declares for that status (the JSON body against its schema, undocumented fields included; a problem's
 * code against the codes declared for that status; a non-JSON body's media type). A mismatch is recorded (the test
 * support fails the test that caused it) and the client gets a 500 `response_invalid` naming it instead of the body.
 */

export interface ResponseViolation {
  operation: string;
  status: number;
  problems: string[];
}

const recorded: ResponseViolation[] = [];

/** The violations recorded in this process since the last call. */
export function takeResponseViolations(): ResponseViolation[] {
  return recorded.splice(0);
}

function mediaType(contentType: string | undefined): string {
  return (contentType ?? 'application/json').split(';')[0]?.trim().toLowerCase() ?? '';
}

/** Paths of fields the value has and the schema's output dropped: undocumented fields. */
function undocumented(sent: unknown, parsed: unknown, path: string, out: string[]): void {
  if (Array.isArray(sent) && Array.isArray(parsed)) {
    for (const [i, item] of sent.entries()) undocumented(item, parsed[i], `${path}[${i}]`, out);
    return;
  }
  if (sent && parsed && typeof sent === 'object' && typeof parsed === 'object') {
    for (const [key, value] of Object.entries(sent)) {
      const at = path ? `${path}.${key}` : key;
      if (!(key in parsed)) out.push(`${at}: not documented`);
      else undocumented(value, (parsed as Record<string, unknown>)[key], at, out);
    }
  }
}

/** What is wrong with a JSON body sent with this status, as the client receives it (after JSON serialization). */
export function jsonResponseProblems(op: DeclaredOperation, status: number, contentType: string | undefined, body: unknown): string[] {
  const entry = statusTable(op).get(status);
  if (!entry) return [`status ${status} is not declared`];
  const sent = body === undefined ? undefined : JSON.parse(JSON.stringify(body));
  const type = mediaType(contentType);
  if (!entry.spec) {
    if (type !== 'application/problem+json') return [`content type ${type}, expected application/problem+json`];
    const result = problemSchema.safeParse(sent);
    if (!result.success) return result.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`);
    if (entry.codes && !entry.codes.includes(result.data.code)) {
      return [`problem code ${result.data.code} is not declared for ${status} (declared: ${entry.codes.join(', ') || 'none'})`];
    }
    return [];
  }
  const schema = entry.spec.schema;
  if (!schema) return [`a JSON body, but ${status} declares ${Object.keys(entry.spec.content ?? {}).join(', ') || 'no body'}`];
  const result = schema.safeParse(sent);
  if (!result.success) return result.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`);
  const problems: string[] = [];
  undocumented(sent, result.data, '', problems);
  return problems;
}

/** What is wrong with a response that was not sent as JSON. */
function otherResponseProblems(op: DeclaredOperation, status: number, contentType: string | undefined): string[] {
  const entry = statusTable(op).get(status);
  if (!entry) return [`status ${status} is not declared`];
  if (!entry.spec) return [`a ${status} error that is not problem+json`];
  // A redirect's little body is express's, whatever its type.
  if (status >= 300 && status < 400) return [];
  const declared = Object.keys(entry.spec.content ?? {});
  if (contentType === undefined) return entry.spec.schema ? ['no body, but a JSON body is declared'] : [];
  const type = mediaType(contentType);
  return declared.includes(type) ? [] : [`content type ${type}, declared: ${declared.join(', ') || 'none'}`];
}

function violation(op: DeclaredOperation, req: Request, status: number, problems: string[]): ResponseViolation {
  const found = { operation: `${req.method} ${op.path}`, status, problems };
  recorded.push(found);
  req.log?.error({ violation: found }, 'response does not match its declared schema');
  return found;
}

/** Checks the response this request gets against the operation's declaration. */
export function checkResponses(op: DeclaredOperation, req: Request, res: Response): void {
  const json = res.json.bind(res);
  let sentJson = false;
  res.json = (body: unknown) => {
    sentJson = true;
    const problems = jsonResponseProblems(op, res.statusCode, res.get('Content-Type'), body);
    if (problems.length === 0) return json(body);
    const found = violation(op, req, res.statusCode, problems);
    res.status(500).type('application/problem+json');
    return json(problem(500, 'response_invalid', `The response does not match its declared schema: ${found.problems.join('; ')}`));
  };
  res.once('finish', () => {
    if (sentJson) return;
    const problems = otherResponseProblems(op, res.statusCode, res.get('Content-Type'));
    if (problems.length > 0) violation(op, req, res.statusCode, problems);
  });
}
