import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CFN_LINT_INSTALL, cfnLint } from '../../scripts/cfn-lint.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'iam-onboarding-cfn-lint-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('cfn-lint runner', () => {
  it('fails, saying how to install it, when cfn-lint is not installed', async () => {
    await expect(cfnLint(path.join(dir, 'any.json'), { env: { PATH: dir } })).rejects.toThrow(
      `cfn-lint is not installed (not on PATH): ${CFN_LINT_INSTALL}`,
    );
  });

  it('reports an error in the exit code bitmask, with the finding', async () => {
    const template = path.join(dir, 'broken.json');
    await writeFile(template, JSON.stringify({ Resources: { Bucket: { Type: 'AWS::S3::Bucket', Properties: { NoSuchProperty: 1 } } } }));

    const result = await cfnLint(template);

    expect(result.code & 0b10, result.output).toBe(0b10);
    expect(result.findings).toEqual([expect.stringMatching(/^E\d{4} .*NoSuchProperty/)]);
  });
});
