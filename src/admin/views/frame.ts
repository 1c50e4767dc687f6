// What the frame of every page shows besides its body: the time zone its times
// are in (named once, under the title) and counts beside menu items (review
// requests waiting). buildAdminApp decorates the fastify instance with
// pageFrame(); renderPage asks it only for a logged-in page.
import type { AdminContext } from '../context.js';
import { visiblePendingRequests } from '../exceptions.js';

export interface MenuCount {
  count: number;
  /** Said to screen readers after the count, e.g. "review requests waiting". */
  label: string;
}

export interface PageFrame {
  timeZone: string;
  now: number;
  /** By menu href. */
  counts: Record<string, MenuCount>;
}

declare module 'fastify' {
  interface FastifyInstance {
    pageFrame?: () => PageFrame;
  }
}

export function pageFrameOf(ctx: AdminContext): () => PageFrame {
  return () => ({
    timeZone: ctx.config.admin.timezone,
    now: ctx.now(),
    counts: { '/exceptions': { count: visiblePendingRequests(ctx).length, label: 'review requests waiting' } },
  });
}
