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
