// Behaviour for the content pages (a module: the CSP allows no inline script).
// Everything here is optional: the pages work without it.

// Dashboard: reload every N seconds while the tab is visible, unless the user is typing.
const auto = document.querySelector('[data-autorefresh]');
if (auto) {
  const seconds = Math.max(15, Number(auto.getAttribute('data-autorefresh')) || 60);
  setInterval(() => {
    if (document.visibilityState === 'visible' && !document.activeElement?.matches('input, textarea, select')) window.location.reload();
  }, seconds * 1000);
}

// Forms marked data-busy: disable the button and say what is happening (the self-test takes a few seconds).
document.addEventListener('submit', (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.dataset.busy || event.defaultPrevented) return;
  const button = form.querySelector('button[type=submit]');
  if (button) {
    button.disabled = true;
    button.textContent = form.dataset.busy;
  }
});

// Devices page: a chosen CSV file is posted as it is (text/csv), which has no form-size limit of 64 KB;
// without script, or with nothing chosen, the form posts the pasted text.
document.addEventListener('submit', async (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.dataset.upload) return;
  const file = form.querySelector('input[type=file]')?.files?.[0];
  if (!file) return;
  event.preventDefault();
  const out = document.getElementById('import-upload-result');
  const say = (lines) => {
    if (!out) return;
    out.replaceChildren(...lines.map((l) => Object.assign(document.createElement('p'), { textContent: l })));
    out.className = 'notice';
  };
  say([`Importing ${file.name}…`]);
  try {
    const res = await fetch(form.dataset.upload, {
      method: 'POST',
      headers: { 'content-type': 'text/csv', 'x-csrf-token': document.querySelector('meta[name=csrf-token]')?.content ?? '' },
      body: await file.text(),
    });
    const r = await res.json();
    if (!res.ok) return say([`Nothing imported: ${r.error ?? res.status}.`]);
    say([
      `Devices: ${r.added} added, ${r.changed} changed, ${r.unchanged} unchanged, ${r.refused.length} refused.`,
      ...r.refused.slice(0, 100).map((x) => `line ${x.line}: ${x.reason}`),
    ]);
  } catch (err) {
    say([`Nothing imported: ${err.message}.`]);
  }
});
