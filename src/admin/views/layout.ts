// The page shell: head (CSP-friendly: only our own CSS and JS files), the
// navigation for the user's role, and the body a route renders with `html`.
import type { FastifyRequest } from 'fastify';
import { html, type SafeHtml } from '../html.js';
import { ROLE_LABELS } from '../users.js';
import { navItems } from './nav.js';
import './frame.js';
import { zoneLabel } from './time.js';

export interface PageOptions {
  title: string;
  body: SafeHtml;
  /** Extra class on <body>, e.g. "print" for printable extracts. */
  bodyClass?: string;
}

export function csrfField(request: FastifyRequest): SafeHtml {
  return html`<input type="hidden" name="_csrf" value="${request.auth?.session.csrf_token ?? ''}">`;
}

export function renderPage(request: FastifyRequest, opts: PageOptions): string {
  const auth = request.auth;
  const ready = auth?.stage === 'ready';
  const path = request.url.split('?')[0];
  const frame = ready ? request.server.pageFrame?.() : undefined;
  const count = (href: string) => {
    // The page frame's counts (the same for everyone), or the role's (change requests waiting, views/nav.ts).
    const c = request.navCounts?.[href] ?? frame?.counts[href];
    return c && c.count > 0
      ? html` <span class="count" title="${c.count} ${c.label}" id="nav-count-${href.slice(1)}">${c.count}<span class="visually-hidden"> ${c.label}</span></span>`
      : '';
  };
  const nav = ready
    ? html`<nav class="nav" aria-label="Main">
        <a class="brand" href="/">Gatehouse</a>
        <ul>${navItems
          .filter((i) => i.roles.includes(auth!.user.role))
          .map(
            (i) => html`<li><a href="${i.href}"${path === i.href ? html` aria-current="page"` : ''}>${i.label}${count(i.href)}</a></li>`,
          )}</ul>
        <div class="who">
          <a href="/account">${auth!.user.name}</a> <span class="role">${ROLE_LABELS[auth!.user.role]}</span>
          <form method="post" action="/logout" class="inline">${csrfField(request)}<button type="submit" class="link">Log out</button></form>
        </div>
      </nav>`
    : html`<nav class="nav"><span class="brand">Gatehouse</span>${
        auth
          ? html`<div class="who"><form method="post" action="/logout" class="inline">${csrfField(request)}<button type="submit" class="link">Log out</button></form></div>`
          : ''
      }</nav>`;
  return html`<!doctype html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="csrf-token" content="${auth?.session.csrf_token ?? ''}">
<title>${opts.title} · Gatehouse</title>
<link rel="stylesheet" href="/static/app.css">
<script type="module" src="/static/app.js"></script>
</head>
<body class="${opts.bodyClass ?? ''}">
${nav}
<main>
<h1>${opts.title}</h1>
${frame ? html`<p class="timezone" id="timezone">Times in ${zoneLabel(frame.timeZone, frame.now)}</p>` : ''}
${opts.body}
</main>
</body>
</html>
`.value;
}

/** A message box for form errors or notices. */
export function messages(kind: 'error' | 'notice', items: string[]): SafeHtml {
  if (items.length === 0) return html``;
  return html`<div class="${kind}" role="${kind === 'error' ? 'alert' : 'status'}"><ul>${items.map((m) => html`<li>${m}</li>`)}</ul></div>`;
}
