import type { Request, Response, Router } from 'express';
import { type Problem, problem } from '../../http/problem.ts';
import { formValues } from '../actions.ts';
import { CONSOLE_PATH } from '../context.ts';
import { html } from '../html.ts';
import type { ConsoleDeps } from '../index.ts';
import { bareLayout, problemBox } from '../layout.ts';
import { sendHtml } from '../respond.ts';
import { fromThisSite, sameSecret } from '../sessions.ts';

/** Where to go after login: a page of the console or an operator UI of this site, never elsewhere. */
export function safeNext(value: unknown): string {
  if (typeof value !== 'string' || !/^\/(console|admin)(\/|$|\?)/.test(value) || value.includes('\\')) return `${CONSOLE_PATH}/campaigns`;
  return value;
}

function loginPage(next: string, refused?: Problem) {
  return bareLayout(
    'Log in to the promo console',
    html`${refused ? problemBox(refused) : ''}
    <form method="post" action="${CONSOLE_PATH}/login" class="login">
      <input type="hidden" name="next" value="${next}">
      <label for="key">API key <span class="muted">(admin or viewer)</span></label>
      <input id="key" name="key" type="password" autocomplete="off" required autofocus spellcheck="false">
      <button type="submit">Log in</button>
    </form>
    <p class="muted">The key is exchanged for a session cookie; it is not kept in the browser. A viewer key can read everything and change nothing.</p>`,
  );
}

/** Login (an API key for a session), logout; the only console routes without a session. */
export function loginPages(router: Router, { authenticator, sessions }: ConsoleDeps): void {
  router.get('/login', (req: Request, res: Response) => sendHtml(res, loginPage(safeNext(req.query.next))));

  router.post('/login', async (req: Request, res: Response) => {
    const form = formValues(req.body);
    const next = safeNext(form.next);
    if (!fromThisSite(req))
      return sendHtml(res, loginPage(next, problem(403, 'forbidden', 'The login form must come from this site.')), 403);
    const key = (form.key ?? '').trim();
    const identity = key ? await authenticator.authenticate(key) : null;
    if (!identity) {
      const refused = problem(401, 'unauthorized', key ? 'The API key is not valid.' : 'An API key is required.');
      return sendHtml(res, loginPage(next, refused), 401);
    }
    if (identity.role !== 'admin' && identity.role !== 'viewer') {
      return sendHtml(res, loginPage(next, problem(403, 'forbidden', 'The console needs an admin or a viewer key.')), 403);
    }
    await sessions.open(res, identity);
    req.log?.info({ keyId: identity.id, role: identity.role }, 'console login');
    res.redirect(303, next);
  });

  router.post('/logout', async (req: Request, res: Response) => {
    const session = await sessions.session(req);
    if (session && !sameSecret(formValues(req.body)._csrf, session.csrfToken)) {
      return sendHtml(
        res,
        bareLayout('Log out', problemBox(problem(403, 'csrf_token_invalid', 'Reload the page and log out again.'))),
        403,
      );
    }
    await sessions.close(req, res);
    res.redirect(303, `${CONSOLE_PATH}/login`);
  });
}
