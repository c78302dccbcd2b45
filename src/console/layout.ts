import { BULL_BOARD_PATH } from '../http/bull-board.ts';
import { type Problem, statusTitle } from '../http/problem.ts';
import { CONSOLE_PATH, type ConsoleRequest } from './context.ts';
import { badge } from './format.ts';
import { type Html, html, type Renderable } from './html.ts';

/** A page of the console's navigation. New capabilities add theirs to NAVIGATION (index.ts registers the handlers). */
export interface NavItem {
  label: string;
  path: string;
}

export const NAVIGATION: NavItem[] = [
  { label: 'Campaigns', path: `${CONSOLE_PATH}/campaigns` },
  { label: 'Codes', path: `${CONSOLE_PATH}/codes` },
  { label: 'Webhooks', path: `${CONSOLE_PATH}/webhooks` },
  { label: 'Deliveries', path: `${CONSOLE_PATH}/distributions` },
  { label: 'Jobs', path: `${CONSOLE_PATH}/jobs` },
];

export const ASSETS = `${CONSOLE_PATH}/assets`;

function head(title: string): Html {
  return html`<meta charset="utf-8"><title>${title} · promo console</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">
<meta name="htmx-config" content='{"allowEval":false,"allowScriptTags":false,"includeIndicatorStyles":false,"historyCacheSize":0}'>
<link rel="stylesheet" href="${ASSETS}/uPlot.min.css"><link rel="stylesheet" href="${ASSETS}/console.css">
<script src="${ASSETS}/htmx.min.js" defer></script><script src="${ASSETS}/uPlot.iife.min.js" defer></script>
<script src="${ASSETS}/console.js" defer></script>`;
}

export interface PageContent {
  title: string;
  /** The heading when it says more than the title (markup allowed). */
  heading?: Renderable;
  body: Renderable;
}

/** A whole console page: navigation, the code search, who is logged in, logout, and the content in <main>. */
export function layout(c: ConsoleRequest, page: PageContent): Html {
  const current = c.req.originalUrl.split('?')[0] ?? '';
  return html`<!doctype html>
<html lang="en"><head>${head(page.title)}</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
  <a class="brand" href="${CONSOLE_PATH}/campaigns">promo console</a>
  <nav aria-label="Console">
    <ul>${NAVIGATION.map(
      (item) => html`<li><a href="${item.path}"${current.startsWith(item.path) ? html` aria-current="page"` : ''}>${item.label}</a></li>`,
    )}
      <li><a href="${BULL_BOARD_PATH}">Bull Board</a></li>
      <li><a href="/admin/stats">Stats</a></li>
      <li><a href="/docs/">API</a></li>
    </ul>
  </nav>
  <form class="lookup" method="get" action="${CONSOLE_PATH}/codes" role="search">
    <label for="top-code">Code</label>
    <input id="top-code" name="code" type="search" autocomplete="off" spellcheck="false" placeholder="Look up a code">
    <button type="submit">Find</button>
  </form>
  <div class="who">
    <span>${c.identity.name}</span> ${badge(c.identity.role)}
    <form method="post" action="${CONSOLE_PATH}/logout">
      <input type="hidden" name="_csrf" value="${c.session.csrfToken}">
      <button type="submit" class="link">Log out</button>
    </form>
  </div>
</header>
<main id="main" tabindex="-1">
  <h1>${page.heading ?? page.title}</h1>
  ${!c.canChange ? html`<p class="note" role="note">Read-only: you are logged in with a viewer key.</p>` : ''}
  ${page.body}
</main>
</body></html>`;
}

/** A page without a session (login, errors before login). */
export function bareLayout(title: string, body: Renderable): Html {
  return html`<!doctype html>
<html lang="en"><head>${head(title)}</head>
<body class="bare"><main id="main"><h1>${title}</h1>${body}</main></body></html>`;
}

/** A problem, as the API answers it, shown on a page: the same code, detail and offending fields. */
export function problemBox(p: Problem): Html {
  const errors = (p.errors ?? []) as { field: string; message: string }[];
  return html`<div class="problem" role="alert" data-code="${p.code}">
    <p><strong>${p.status} ${statusTitle(p.status)}</strong>: ${p.detail} <code>${p.code}</code></p>
    ${errors.length > 0 ? html`<ul>${errors.map((e) => html`<li><code>${e.field}</code>: ${e.message}</li>`)}</ul>` : ''}
  </div>`;
}
