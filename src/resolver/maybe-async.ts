// Handlers may answer synchronously (the fast path) or with a promise.

export function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as Promise<T>)?.then === 'function';
}
