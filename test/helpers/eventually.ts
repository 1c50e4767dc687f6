// Poll until a check passes or the time is up: bounded, and the last value is
// returned so the test's own assertion says what was wrong.
export async function eventually<T>(fn: () => Promise<T>, check: (v: T) => boolean, ms = 8000): Promise<T> {
  const deadline = Date.now() + ms;
  let last = await fn();
  while (!check(last) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    last = await fn();
  }
  return last;
}
