import { randomBytes } from 'node:crypto';
import { permits, refusal } from '../http/access.ts';
import type { Method } from '../http/operation.ts';
import { type Problem, problem, problemFor } from '../http/problem.ts';
import { parse } from '../http/validate.ts';
import { ValidationError } from '../shared/errors.ts';
import { type CallInput, type CallReply, CONSOLE_PATH, type ConsoleRequest, type OperationCaller } from './context.ts';
import { type Html, html, type Renderable } from './html.ts';
import { layout, problemBox } from './layout.ts';
import { sameSecret } from './sessions.ts';

export type FormValues = Record<string, string>;
export type Params = Record<string, string>;

/**
 * A state-changing console form: it runs one API operation, in this process, with the operation's own schemas,
 * use-case and errors. POSTing it first shows a confirmation (when `confirm` is set) of the input as the operation
 * parsed it, then runs it and redirects to what it made. Bad input re-shows the form with the API's problem.
 */
export interface FormAction {
  /** Under /console, express syntax (`/campaigns/:id/generate`). */
  path: string;
  operation: { method: Method; path: string };
  submitLabel: string;
  title(c: ConsoleRequest, params: Params): Promise<string> | string;
  /** The inputs, filled with `values`. */
  fields(values: FormValues, params: Params): Renderable;
  /** The form's fields as the operation's input (body, params). */
  input(form: FormValues, params: Params): CallInput;
  /** The question a confirmation asks; without it the action runs at once. */
  confirm?(c: ConsoleRequest, form: FormValues, params: Params): Promise<Renderable> | Renderable;
  /** Where the browser goes once it ran: what it made, or changed. */
  done(reply: CallReply, params: Params, form: FormValues): string;
}

/** Form values as text, as browsers send them (a repeated field keeps its last value). */
export function formValues(body: unknown): FormValues {
  const values: FormValues = {};
  for (const [key, value] of Object.entries((body ?? {}) as Record<string, unknown>)) {
    const v = Array.isArray(value) ? value.at(-1) : value;
    if (typeof v === 'string') values[key] = v;
  }
  return values;
}

/** A whole number as typed, as a number; anything else as it was typed, so the operation's schema says what is wrong. */
export function numberField(value: string | undefined): number | string | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const text = value.trim().replaceAll(',', '');
  return /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : value;
}

/** A `datetime-local` value (read as UTC) as ISO 8601; anything else as typed. */
export function utcField(value: string | undefined): string | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const v = value.trim();
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/.test(v)) return `${v}:00Z`;
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/.test(v)) return `${v}Z`;
  return v;
}

/** A JSON text field: the parsed value, or a validation error naming the field. */
export function jsonField(field: string, value: string | undefined): unknown {
  if (value === undefined || value.trim() === '') return undefined;
  try {
    return JSON.parse(value);
  } catch {
    throw new ValidationError([{ field, message: 'is not valid JSON' }]);
  }
}

const CSRF_REFUSED = problem(
  403,
  'csrf_token_invalid',
  'The form is stale or did not come from this console; reload the page and try again.',
);

export class ActionForms {
  readonly #caller: OperationCaller;

  constructor(caller: OperationCaller) {
    this.#caller = caller;
  }

  /** Whether this session's key may run the action (viewers see no forms). */
  allowed(c: ConsoleRequest, action: FormAction): boolean {
    const op = this.#caller.find(action.operation.method, action.operation.path);
    return permits(c.identity.role, action.operation.method, op.spec.auth ?? 'key');
  }

  /** The form itself, to put on any page; nothing for a session that may not run it. */
  form(c: ConsoleRequest, action: FormAction, params: Params, values: FormValues = {}, extra: Renderable = ''): Html {
    if (!this.allowed(c, action)) return html``;
    return html`<form class="action" method="post" action="${actionUrl(action, params)}">
      <input type="hidden" name="_csrf" value="${c.session.csrfToken}">
      <input type="hidden" name="_idempotency" value="${values._idempotency ?? randomBytes(12).toString('base64url')}">
      ${action.fields(values, params)}
      ${extra}
      <button type="submit">${action.submitLabel}</button>
    </form>`;
  }

  /** The action's own page: the form, and the problem when the last try was refused. */
  async page(c: ConsoleRequest, action: FormAction, params: Params, values: FormValues = {}, refused?: Problem): Promise<Html> {
    const title = await action.title(c, params);
    if (!this.allowed(c, action)) c.res.status(403);
    const body = this.allowed(c, action)
      ? html`${refused ? problemBox(refused) : ''}${this.form(c, action, params, values)}`
      : problemBox(forbidden(c));
    return layout(c, { title, body });
  }

  /** POST: check the CSRF token and the key's role, validate, confirm, run, redirect. */
  async submit(c: ConsoleRequest, action: FormAction, params: Params): Promise<void> {
    const form = formValues(c.req.body);
    const send = async (status: number, page: Html) => {
      c.res.status(status).type('html').send(page.value);
    };
    if (!sameSecret(form._csrf, c.session.csrfToken)) return send(403, await this.page(c, action, params, {}, CSRF_REFUSED));
    if (!this.allowed(c, action)) return send(403, await this.page(c, action, params));
    try {
      const input = action.input(form, params);
      if (action.confirm && form._confirmed !== 'yes') {
        // The same parsing the operation does when it runs: bad input is refused before anything is asked.
        const op = this.#caller.find(action.operation.method, action.operation.path);
        if (op.spec.body) parse(op.spec.body, input.body);
        return send(200, await this.confirmation(c, action, params, form));
      }
      const reply = await c.call(action.operation.method, action.operation.path, {
        ...input,
        params: { ...params, ...input.params },
        idempotencyKey: form._idempotency || undefined,
      });
      c.res.redirect(303, action.done(reply, params, form));
    } catch (error) {
      const refused = problemFor(error);
      if (!refused) throw error;
      return send(refused.status, await this.page(c, action, params, form, refused));
    }
  }

  async confirmation(c: ConsoleRequest, action: FormAction, params: Params, form: FormValues): Promise<Html> {
    const question = await action.confirm?.(c, form, params);
    const hidden = Object.entries(form).filter(([key]) => key !== '_confirmed');
    const body = html`<div class="confirm">
      <p class="question">${question}</p>
      <form method="post" action="${actionUrl(action, params)}">
        ${hidden.map(([key, value]) => html`<input type="hidden" name="${key}" value="${value}">`)}
        <input type="hidden" name="_confirmed" value="yes">
        <button type="submit" autofocus>Yes, ${action.submitLabel.toLowerCase()}</button>
        <a class="button secondary" href="${localReferer(c, `${CONSOLE_PATH}/campaigns`)}">Cancel</a>
      </form>
    </div>`;
    return layout(c, { title: `Confirm: ${await action.title(c, params)}`, body });
  }
}

function forbidden(c: ConsoleRequest): Problem {
  return problem(403, 'forbidden', refusal(c.identity.role, 'key'));
}

/** Where the browser came from, when that is a page of this site. */
function localReferer(c: ConsoleRequest, fallback: string): string {
  try {
    const referer = new URL(c.req.get('Referer') ?? '');
    return referer.host === c.req.get('Host') && referer.pathname.startsWith(CONSOLE_PATH)
      ? `${referer.pathname}${referer.search}`
      : fallback;
  } catch {
    return fallback;
  }
}

export function actionUrl(action: FormAction, params: Params): string {
  return `${CONSOLE_PATH}${action.path.replace(/:([a-z_]+)/gi, (_, name: string) => encodeURIComponent(params[name] ?? ''))}`;
}
