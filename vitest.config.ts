import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup/setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Integration tests start child processes (moto, the local stack); keep the machine calm.
    maxWorkers: 2,
  },
});
