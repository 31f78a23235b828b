import {
  CreateLoginProfileCommand,
  UpdateLoginProfileCommand,
  type IAMClientResolvedConfig,
  type ServiceInputTypes,
  type ServiceOutputTypes,
} from '@aws-sdk/client-iam';
import type { AwsStub } from 'aws-sdk-client-mock';
import { expect } from 'vitest';

/** Every password the code under test sent to IAM (CreateLoginProfile / UpdateLoginProfile). */
export function passwordsSent(iam: AwsStub<ServiceInputTypes, ServiceOutputTypes, IAMClientResolvedConfig>): string[] {
  return [
    ...iam.commandCalls(CreateLoginProfileCommand).map((c) => c.args[0].input.Password),
    ...iam.commandCalls(UpdateLoginProfileCommand).map((c) => c.args[0].input.Password),
  ].filter((p): p is string => typeof p === 'string' && p.length > 0);
}

/** Asserts that none of the passwords appears anywhere in the given places. */
export function expectNoSecrets(passwords: string[], places: Record<string, unknown>): void {
  for (const [where, value] of Object.entries(places)) {
    const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? '');
    for (const password of passwords) {
      expect(text.includes(password), `password found in ${where}`).toBe(false);
      // Also catch encodings that would smuggle it out (JSON-escaped, base64).
      expect(text.includes(JSON.stringify(password).slice(1, -1)), `escaped password found in ${where}`).toBe(false);
      expect(text.includes(Buffer.from(password).toString('base64')), `base64 password found in ${where}`).toBe(false);
    }
  }
}
