import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The reliability suites run on their own (npm run test:reliability), with their figures.
    exclude: ['test/reliability/**', 'node_modules/**'],
    setupFiles: ['test/setup/setup.ts'],
    // The SDK's notice about future node versions is noise in test output (node 22 is the Lambda runtime).
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Integration tests start child processes (moto, the local stack); keep the machine calm.
    maxWorkers: 2,
  },
});
