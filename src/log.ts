// The process logger. Child loggers are made once at start-up, never per query.
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string = 'info', destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'gatehouse' },
    // Secrets never reach the log, whatever a caller passes by mistake.
    redact: { paths: secretPaths(), censor: '[redacted]' },
  };
  return destination ? pino(options, destination) : pino(options);
}

/** Secret-looking keys at the top level and up to four levels down (e.g. alerts.channels.email.auth.password). */
function secretPaths(): string[] {
  const keys = ['password', 'secret', 'token', 'totp', 'cookie', 'authorization'];
  const paths: string[] = [];
  for (let depth = 0; depth <= 4; depth++) for (const k of keys) paths.push([...Array(depth).fill('*'), k].join('.'));
  return paths;
}

/** A logger that writes nothing: for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/**
 * How the admin UI's request log shows a request: method, path and address.
 * Never the query string: a query-log search carries the text searched for,
 * which may be a name in an illegal category.
 */
export function requestWithoutQuery(req: { method: string; url: string; ip: string }): {
  method: string;
  url: string;
  remoteAddress: string;
} {
  const q = req.url.indexOf('?');
  return { method: req.method, url: q < 0 ? req.url : req.url.slice(0, q), remoteAddress: req.ip };
}
