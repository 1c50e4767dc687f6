// The content pages' own stylesheet and script (src/admin/public/pages.css,
// pages.js), linked from the page body so the shared layout stays as it is.
import { html, type SafeHtml } from '../html.js';

export function pageAssets(): SafeHtml {
  return html`<link rel="stylesheet" href="/static/pages.css"><script type="module" src="/static/pages.js"></script>`;
}
