// The small client helper for every page (loaded as a module; the CSP allows
// no inline script). Pages work without it; it adds confirmations, printing,
// and `api()` for pages that call the JSON API.

/** The session's CSRF token, from the page's <meta name="csrf-token">. */
export function csrfToken() {
  return document.querySelector('meta[name="csrf-token"]')?.getAttribute('content') ?? '';
}

/** fetch() for /api: same-origin cookies, the CSRF header, JSON both ways. */
export async function api(path, { method = 'GET', body } = {}) {
  const headers = { 'X-CSRF-Token': csrfToken() };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = res.status === 204 ? null : await res.json().catch(() => null);
  if (!res.ok) throw Object.assign(new Error(data?.error ?? `HTTP ${res.status}`), { status: res.status, data });
  return data;
}

/** Build an element with text content only: never innerHTML for data. */
export function el(tag, text, attrs = {}) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

document.addEventListener('submit', (event) => {
  const form = event.target;
  const question = form instanceof HTMLFormElement ? form.dataset.confirm : undefined;
  if (question && !window.confirm(question)) event.preventDefault();
});

document.addEventListener('click', (event) => {
  const target = event.target instanceof Element ? event.target.closest('[data-print]') : null;
  if (target) window.print();
});
