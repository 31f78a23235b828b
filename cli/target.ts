/**
 * Which state machine a command talks to, and the Step Functions client to reach it:
 * `--state-machine-arn`, `--local` (the stack `npm run local` runs), `--stage` (the deployed
 * stack's output), or `ONBOARDING_STATE_MACHINE_ARN`, in that order.
 */
import { readFile } from 'node:fs/promises';
import { DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import type { IAMClient } from '@aws-sdk/client-iam';
import type { SFNClient } from '@aws-sdk/client-sfn';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { Option, type Command } from 'commander';
import { cloudFormationClient, iamClient, sfnClient, ssmClient, type ClientOptions } from '../functions/lib/clients.ts';
import { DISCOVERY_FILE_NAME, discoveryFilePath, isLocalStackDiscovery, type LocalStackDiscovery } from '../local/discovery.ts';
import { PROJECT_ROOT, SERVICE } from '../local/serverless-yaml.ts';
import { executionArnFor, isExecutionName } from './execution-rules.ts';
import { CliError, reportError, UsageError, type Io, type OutputOptions } from './output.ts';

/** Where each place keeps one state machine's ARN. */
export interface StateMachineRef {
  /** Key under `stateMachines` in the local stack's file. */
  localKey: string;
  /** The stack output (serverless.yml `resources.Outputs`). */
  stackOutput: string;
  /** The environment variable. */
  env: string;
}

export const ONBOARDING: StateMachineRef = {
  localKey: 'onboarding',
  stackOutput: 'OnboardingStateMachineArn',
  env: 'ONBOARDING_STATE_MACHINE_ARN',
};

export const REPROVISION: StateMachineRef = {
  localKey: 'reprovision',
  stackOutput: 'ReprovisionStateMachineArn',
  env: 'REPROVISION_STATE_MACHINE_ARN',
};

export const MOVE: StateMachineRef = {
  localKey: 'move',
  stackOutput: 'MoveStateMachineArn',
  env: 'MOVE_STATE_MACHINE_ARN',
};

export const OFFBOARDING: StateMachineRef = {
  localKey: 'offboarding',
  stackOutput: 'OffboardingStateMachineArn',
  env: 'OFFBOARDING_STATE_MACHINE_ARN',
};

const STATE_MACHINE_ARN = /^arn:aws[a-z-]*:states:([a-z0-9-]+):\d{12}:stateMachine:[^:\s]+$/;
const EXECUTION_ARN = /^arn:aws[a-z-]*:states:([a-z0-9-]+):\d{12}:execution:[^:\s]+:[^:\s]+$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;
const STAGE = /^[A-Za-z0-9-]{1,64}$/;

export interface TargetOptions extends OutputOptions {
  stateMachineArn?: string;
  stage?: string;
  region?: string;
  local?: boolean;
  endpointUrl?: string;
}

/** The options every command takes: where to find the state machine, and how to print. */
export function withCommonOptions(command: Command, machine: StateMachineRef = ONBOARDING): Command {
  return command
    .addOption(new Option('--state-machine-arn <arn>', `${machine.localKey} state machine ARN (default: $${machine.env})`).conflicts(['stage']))
    .addOption(new Option('--stage <stage>', `deployed stage: reads the ARN from stack ${SERVICE}-<stage>`).conflicts(['local']))
    .option('--region <region>', 'AWS region (default: the ARN\'s region, else the SDK\'s)')
    .option('--local', `the local stack started by \`npm run local\` (reads ${DISCOVERY_FILE_NAME})`)
    .option('--endpoint-url <url>', 'Step Functions endpoint (default: $AWS_ENDPOINT_URL)')
    .option('--json', 'print one JSON document for scripts')
    .option('--debug', 'show stack traces of errors');
}

export function isExecutionArn(ref: string): boolean {
  return EXECUTION_ARN.test(ref);
}

/** Checks a state machine ARN given on the command line (`flag` names where it came from). */
export function checkStateMachineArn(flag: string, value: string): string {
  if (!STATE_MACHINE_ARN.test(value)) {
    throw new UsageError(`${flag}: "${value}" is not a state machine ARN (arn:aws:states:<region>:<account>:stateMachine:<name>)`);
  }
  return value;
}

/**
 * One command's connection to Step Functions. Options are checked when it is made, so bad
 * flags are reported before any AWS call; clients are closed by {@link Session.close}.
 */
export class Session {
  private readonly clients: Array<{ destroy(): void }> = [];
  private local?: Promise<LocalStackDiscovery>;
  private stackOutputs?: Promise<Map<string, string>>;
  private readonly resolved = new Map<StateMachineRef, Promise<string>>();

  constructor(
    private readonly io: Io,
    private readonly options: TargetOptions,
    /** The state machine this command is about (`--state-machine-arn` names it). */
    private readonly machine: StateMachineRef = ONBOARDING,
  ) {
    const { stateMachineArn, region, stage, endpointUrl } = options;
    if (stateMachineArn !== undefined) checkStateMachineArn('--state-machine-arn', stateMachineArn);
    if (region !== undefined && !REGION.test(region)) throw new UsageError(`--region: "${region}" is not an AWS region (like eu-west-1)`);
    if (stage !== undefined && !STAGE.test(stage)) throw new UsageError(`--stage: "${stage}" must be letters, digits and hyphens`);
    if (endpointUrl !== undefined && !/^https?:\/\/[^\s/]+/.test(endpointUrl)) {
      throw new UsageError(`--endpoint-url: "${endpointUrl}" is not an http(s) URL`);
    }
  }

  /**
   * A state machine's ARN, looked up once: by default the command's own. Another one the
   * command needs comes from the same place (local stack, stage, environment), never from
   * `--state-machine-arn`.
   */
  stateMachineArn(machine: StateMachineRef = this.machine): Promise<string> {
    let arn = this.resolved.get(machine);
    if (!arn) this.resolved.set(machine, (arn = this.resolveStateMachineArn(machine)));
    return arn;
  }

  private async resolveStateMachineArn(machine: StateMachineRef): Promise<string> {
    const { options } = this;
    const own = machine === this.machine;
    if (own && options.stateMachineArn) return options.stateMachineArn;
    if (options.local) {
      const arn = (await this.localStack()).stateMachines[machine.localKey];
      if (!arn || !STATE_MACHINE_ARN.test(arn)) throw new CliError(`the local stack names no "${machine.localKey}" state machine: restart it`);
      return arn;
    }
    if (options.stage) return this.fromStack(options.stage, machine);
    const fromEnv = this.env()[machine.env];
    if (fromEnv) {
      if (!STATE_MACHINE_ARN.test(fromEnv)) throw new UsageError(`${machine.env}: "${fromEnv}" is not a state machine ARN`);
      return fromEnv;
    }
    if (!own) throw new UsageError(`which ${machine.localKey} state machine? Pass --stage <stage> or --local, or set ${machine.env}`);
    throw new UsageError(`which state machine? Pass --state-machine-arn <arn>, --stage <stage> or --local, or set ${machine.env}`);
  }

  /** An execution ARN as given, or a name resolved against the state machine. */
  async executionArn(ref: string): Promise<string> {
    if (isExecutionArn(ref)) return ref;
    if (ref.startsWith('arn:')) throw new UsageError(`"${ref}" is not an execution ARN (arn:aws:states:<region>:<account>:execution:<machine>:<name>)`);
    if (!isExecutionName(ref)) throw new UsageError(`"${ref}" is not an execution name or ARN`);
    return executionArnFor(await this.stateMachineArn(), ref);
  }

  /** A Step Functions client for the region of `arn` (or --region), at the chosen endpoint. */
  async sfn(arn: string): Promise<SFNClient> {
    const config = await this.clientOptions(arn);
    if (this.options.endpointUrl) config.endpoint = this.options.endpointUrl;
    return this.track(sfnClient(config));
  }

  /**
   * An IAM client for the partition of `arn` (IAM is global; the region picks its endpoint).
   * `--endpoint-url` is Step Functions' alone: IAM takes $AWS_ENDPOINT_URL_IAM or the local stack's.
   */
  async iam(arn: string): Promise<IAMClient> {
    return this.track(iamClient(await this.clientOptions(arn)));
  }

  /** An SSM client in the region of `arn` (the local stack's endpoint with `--local`). */
  async ssm(arn: string): Promise<SSMClient> {
    return this.track(ssmClient(await this.clientOptions(arn)));
  }

  private async clientOptions(arn: string): Promise<ClientOptions> {
    const region = this.options.region ?? STATE_MACHINE_ARN.exec(arn)?.[1] ?? EXECUTION_ARN.exec(arn)?.[1];
    const config: ClientOptions = {};
    if (region) config.region = region;
    if (this.options.local) config.endpoint = (await this.localStack()).endpoint;
    const env = this.env();
    if (this.options.local && !env.AWS_ACCESS_KEY_ID && !env.AWS_PROFILE) {
      // The local stack checks no signatures; without this the SDK would go looking for
      // credentials (and the instance metadata service) first.
      config.credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
    }
    return config;
  }

  close(): void {
    for (const client of this.clients.splice(0)) client.destroy();
  }

  private track<T extends { destroy(): void }>(client: T): T {
    this.clients.push(client);
    return client;
  }

  private env(): Record<string, string | undefined> {
    return this.io.env ?? process.env;
  }

  private async fromStack(stage: string, machine: StateMachineRef): Promise<string> {
    const stackName = `${SERVICE}-${stage}`;
    this.stackOutputs ??= (async () => {
      const cfn = this.track(cloudFormationClient(this.options.region ? { region: this.options.region } : {}));
      const { Stacks } = await cfn.send(new DescribeStacksCommand({ StackName: stackName }));
      return new Map((Stacks?.[0]?.Outputs ?? []).map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']));
    })();
    const { stackOutput } = machine;
    const value = (await this.stackOutputs).get(stackOutput);
    if (!value) throw new CliError(`stack ${stackName} has no output ${stackOutput}: is it this project's stack, fully deployed?`);
    return value;
  }

  private localStack(): Promise<LocalStackDiscovery> {
    return (this.local ??= readDiscoveryFile(discoveryFilePath(this.io.projectRoot ?? PROJECT_ROOT)));
  }
}

async function readDiscoveryFile(file: string): Promise<LocalStackDiscovery> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new CliError(`no local stack is running (${file} not found): start one with \`npm run local\``);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new CliError(`${file} is not valid JSON: restart the local stack`);
  }
  if (!isLocalStackDiscovery(parsed)) throw new CliError(`${file} does not name an endpoint and stateMachines: restart the local stack`);
  return { endpoint: parsed.endpoint, stateMachines: parsed.stateMachines };
}

/**
 * Runs a command's body with a session, and turns whatever it throws into one error line and
 * an exit code. Clients are closed afterwards so the process can end.
 */
export async function withSession(
  io: Io,
  options: TargetOptions,
  body: (session: Session) => Promise<number>,
  machine: StateMachineRef = ONBOARDING,
): Promise<number> {
  let session: Session | undefined;
  try {
    session = new Session(io, options, machine);
    return await body(session);
  } catch (error) {
    return reportError(io, error, options);
  } finally {
    session?.close();
  }
}
