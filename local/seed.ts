/** What a fresh account needs before the first onboarding: the verified sender, the groups, a password policy. */
import { CreateGroupCommand, EntityAlreadyExistsException, UpdateAccountPasswordPolicyCommand, type IAMClient } from '@aws-sdk/client-iam';
import { VerifyEmailIdentityCommand, type SESClient } from '@aws-sdk/client-ses';

export interface SeedSummary {
  sender?: string;
  groups: string[];
  passwordPolicy?: { MinimumPasswordLength: number; AllowUsersToChangePassword: boolean };
}

/** Seeds moto for the functions' environment `env`. */
export async function seed(clients: { iam: IAMClient; ses: SESClient }, env: Record<string, string>): Promise<SeedSummary> {
  const summary: SeedSummary = { groups: [] };
  if (env.SENDER_EMAIL) {
    await clients.ses.send(new VerifyEmailIdentityCommand({ EmailAddress: env.SENDER_EMAIL }));
    summary.sender = env.SENDER_EMAIL;
  }
  let departments: Record<string, string[]> = {};
  try {
    departments = JSON.parse(env.DEPARTMENT_GROUPS || '{}') as Record<string, string[]>;
  } catch {
    // The functions report a malformed map themselves, at cold start.
  }
  for (const group of new Set(Object.values(departments).flat())) {
    try {
      await clients.iam.send(new CreateGroupCommand({ GroupName: group }));
    } catch (error) {
      if (!(error instanceof EntityAlreadyExistsException)) throw error;
    }
    summary.groups.push(group);
  }
  // Users may not change their own password account-wide, so the workflow grants it per user.
  const passwordPolicy = { MinimumPasswordLength: 14, AllowUsersToChangePassword: false };
  await clients.iam.send(
    new UpdateAccountPasswordPolicyCommand({
      ...passwordPolicy,
      RequireUppercaseCharacters: true,
      RequireLowercaseCharacters: true,
      RequireNumbers: true,
      RequireSymbols: true,
    }),
  );
  summary.passwordPolicy = passwordPolicy;
  return summary;
}
