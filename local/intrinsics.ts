/**
 * The CloudFormation intrinsics in the functions' environment as serverless.yml prints it
 * (`Ref`, `Fn::GetAtt`), resolved against the local stack: pseudo parameters, the state
 * machines, and KMS keys it creates in moto.
 */
import { CreateKeyCommand, type KMSClient } from '@aws-sdk/client-kms';
import type { CfnValue, ServiceConfig } from './service-config.ts';
import { stateMachineArnFor, type LambdaIdentity } from './workflow.ts';

export interface IntrinsicContext {
  identity: Pick<LambdaIdentity, 'region' | 'accountId'>;
  stateMachines: ServiceConfig['stateMachines'];
  resources: ServiceConfig['resources'];
  kms: KMSClient;
}

/** The environment with every value a string; each KMS key it names is created once. */
export async function resolveEnvironment(environment: Record<string, CfnValue>, context: IntrinsicContext): Promise<Record<string, string>> {
  const keys = new Map<string, Promise<{ arn: string; id: string }>>();
  const kmsKey = (logicalId: string, description: string) => {
    let key = keys.get(logicalId);
    if (!key) {
      key = context.kms.send(new CreateKeyCommand({ Description: description })).then(({ KeyMetadata }) => ({ arn: KeyMetadata?.Arn ?? '', id: KeyMetadata?.KeyId ?? '' }));
      keys.set(logicalId, key);
    }
    return key;
  };

  const resolve = async (name: string, value: CfnValue): Promise<string> => {
    if (typeof value !== 'object') return String(value);
    const [intrinsic, arg] = Object.entries(value)[0] ?? [];
    const [logicalId, attribute] = intrinsic === 'Ref' ? [String(arg), 'Ref'] : intrinsic === 'Fn::GetAtt' ? (arg as [string, string]) : [];
    if (logicalId === 'AWS::Region') return context.identity.region;
    if (logicalId === 'AWS::AccountId') return context.identity.accountId;
    if (logicalId === 'AWS::Partition') return 'aws';
    const machine = context.stateMachines.find((m) => m.logicalId === logicalId);
    if (machine) return attribute === 'Name' ? machine.name : stateMachineArnFor(context.identity, machine.name);
    const resource = logicalId ? context.resources[logicalId] : undefined;
    if (resource?.Type === 'AWS::KMS::Key' && logicalId) {
      const key = await kmsKey(logicalId, String(resource.Properties?.Description ?? logicalId));
      return attribute === 'Arn' ? key.arn : key.id;
    }
    throw new Error(`${name}: the local stack cannot resolve ${JSON.stringify(value)}`);
  };

  const resolved: Record<string, string> = {};
  for (const [name, value] of Object.entries(environment)) resolved[name] = await resolve(name, value);
  return resolved;
}
