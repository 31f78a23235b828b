import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { IAMClient } from '@aws-sdk/client-iam';
import { KMSClient } from '@aws-sdk/client-kms';
import { SESClient } from '@aws-sdk/client-ses';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';

/**
 * The one place AWS clients are made. Region and endpoint come from the standard SDK
 * environment (`AWS_REGION`, `AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_<SERVICE>`), so the same
 * code talks to AWS or to the local stack. The SDK's own retries are kept short: the state
 * machine owns retries, with backoff and jitter that show in the execution history. A function
 * no state machine retries sets its own (`AWS_RETRY_MODE`, `AWS_MAX_ATTEMPTS`: the sweep's).
 *
 * One getter per service, each a plain function, so a bundled Lambda carries only the
 * clients it calls. Clients live at module level and are reused across warm invocations.
 */
function clientConfig(options: ClientOptions = {}) {
  return { maxAttempts: Number(process.env.AWS_MAX_ATTEMPTS ?? 2), ...options };
}

/**
 * What a caller outside Lambda (the CLI) may pin instead of taking it from the environment:
 * the region of the ARN it targets, the local stack's endpoint. A client made with options is
 * the caller's own; the shared one keeps the environment's settings.
 */
export interface ClientOptions {
  region?: string;
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

let iam: IAMClient | undefined;
let kms: KMSClient | undefined;
let ses: SESClient | undefined;
let sfn: SFNClient | undefined;
let ssm: SSMClient | undefined;

export function iamClient(options?: ClientOptions): IAMClient {
  if (options) return new IAMClient(clientConfig(options));
  return (iam ??= new IAMClient(clientConfig()));
}
export function kmsClient(): KMSClient {
  return (kms ??= new KMSClient(clientConfig()));
}
export function sesClient(): SESClient {
  return (ses ??= new SESClient(clientConfig()));
}
export function sfnClient(options?: ClientOptions): SFNClient {
  if (options) return new SFNClient(clientConfig(options));
  return (sfn ??= new SFNClient(clientConfig()));
}
export function ssmClient(options?: ClientOptions): SSMClient {
  if (options) return new SSMClient(clientConfig(options));
  return (ssm ??= new SSMClient(clientConfig()));
}
export function cloudFormationClient(options?: ClientOptions): CloudFormationClient {
  return new CloudFormationClient(clientConfig(options));
}
