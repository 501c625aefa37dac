import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Multi-process and container tests share 2 cores; keep files from starving each other.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
