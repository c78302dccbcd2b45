import type { Response } from 'express';
import type { Html } from './html.ts';

/** Sends a console page or fragment, with the time the server spent on it (Server-Timing: app;dur=…). */
export function sendHtml(res: Response, page: Html, status = 200): void {
  const started = res.locals.consoleStarted as number | undefined;
  if (started !== undefined) res.setHeader('Server-Timing', `app;dur=${(performance.now() - started).toFixed(1)}`);
  res.status(status).setHeader('Cache-Control', 'no-store');
  res.type('html').send(page.value);
}
