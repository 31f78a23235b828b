import { defineConfig } from 'vitest/config';

/** `npm run test:reliability`: the suites that prove the product holds, with their figures. */
export default defineConfig({
  test: {
    include: ['test/reliability/**/*.test.ts'],
    setupFiles: ['test/setup/setup.ts'],
    // The SDK's notice about future node versions is noise in test output (node 22 is the Lambda runtime).
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    testTimeout: 600_000,
    hookTimeout: 120_000,
    maxWorkers: 1,
    reporters: ['default', './test/reliability/reporter.ts'],
  },
});
