#!/usr/bin/env node
// The CLI is TypeScript run by tsx, like the rest of the project; this shim is what npm links.
import { tsImport } from 'tsx/esm/api';

// The SDK warns on node < 22 about releases it has not shipped yet; the pinned SDK works, and
// seven lines of warning on every command would bury the CLI's own output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const { run } = await tsImport('../cli/main.ts', import.meta.url);
process.exitCode = await run(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
});
