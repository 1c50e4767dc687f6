import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // expect.poll's own default (1 s) is shorter than a real server process
    // takes to answer on a starved CI machine; a passing poll returns at once.
    expect: { poll: { timeout: 10_000 } },
    // Integration tests bind loopback ports and start real servers; run files
    // two at a time so the 2-core machine is not oversubscribed.
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
});
