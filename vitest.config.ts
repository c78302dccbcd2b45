import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Fails a test whose platform answered with a response that does not match its declared schema.
    setupFiles: ['test/support/response-contract.ts'],
    pool: 'forks',
    // Each file owns its database and queue prefix, so files run in parallel safely.
    fileParallelism: true,
    maxWorkers: 3,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
    reporters: ['default'],
  },
});
