/**
 * What the packaged stack does for the people running it: an alarm on everything that needs a
 * person (each with its metric, dimensions, threshold and action), the topic the alarms go to
 * with the ops address subscribed, one dashboard, and no new permission for any function (the
 * workflow's metrics travel in its logs, in the embedded metric format).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WORKFLOW_METRICS } from '../../functions/lib/metrics.ts';
import { cfnLint } from '../../scripts/cfn-lint.ts';
import { packageService } from '../../scripts/package-service.ts';
import {
  actionsOf,
  allowStatements,
  asList,
  functionActions,
  functionEnvironment,
  lambdaFunctions,
  policyDocuments,
  readTemplate,
  resourcesOfType,
  type Template,
  type TemplateResource,
} from '../support/template.ts';

const OPS = 'ops-team@example.org';
const PAGER = 'pager@example.org';
let workDir: string;
let template: Template;
let templatePaths: string[];
/** Packaged with its own alarm address and Lambda error threshold. */
let tuned: Template;

beforeAll(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'iam-onboarding-alarms-'));
  const [plain, other] = await Promise.all([
    packageService({ outDir: path.join(workDir, 'plain'), params: { opsEmail: OPS } }),
    packageService({ outDir: path.join(workDir, 'tuned'), params: { opsEmail: OPS, alarmEmail: PAGER, lambdaErrorsAlarmThreshold: '12' } }),
  ]);
  templatePaths = [plain.templatePath, other.templatePath];
  template = readTemplate(plain.templatePath);
  tuned = readTemplate(other.templatePath);
}, 300_000);

afterAll(async () => {
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

interface Alarm {
  logicalId: string;
  AlarmName: string;
  AlarmDescription: string;
  Namespace: string;
  MetricName: string;
  Dimensions: Array<{ Name: string; Value: unknown }>;
  Statistic: string;
  Period: number;
  EvaluationPeriods: number;
  Threshold: number | string;
  ComparisonOperator: string;
  TreatMissingData: string;
  AlarmActions: unknown[];
  OKActions?: unknown[];
}

function alarms(t: Template): Alarm[] {
  return resourcesOfType(t, 'AWS::CloudWatch::Alarm').map(([logicalId, resource]) => ({ logicalId, ...(resource.Properties as Omit<Alarm, 'logicalId'>) }));
}

/** The one alarm on `metric` whose single dimension is `value`; fails when there is not exactly one. */
function alarmsOn(t: Template, namespace: string, metric: string, dimension: string, value: unknown): Alarm[] {
  return alarms(t).filter(
    (a) => a.Namespace === namespace && a.MetricName === metric && JSON.stringify(a.Dimensions) === JSON.stringify([{ Name: dimension, Value: value }]),
  );
}

function alarmOn(t: Template, namespace: string, metric: string, dimension: string, value: unknown): Alarm {
  const found = alarmsOn(t, namespace, metric, dimension, value);
  expect(found, `${namespace} ${metric} ${dimension}=${JSON.stringify(value)}`).toHaveLength(1);
  return found[0]!;
}

/** What every alarm must do: fire on one five-minute period at or over its threshold, to the topic, quiet without data. */
function expectPagesOps(alarm: Alarm, threshold: number, statistic = 'Sum'): void {
  // A stage param reaches the template as text ("12"), which CloudFormation takes for a number.
  expect(Number(alarm.Threshold), alarm.logicalId).toBe(threshold);
  expect(alarm, alarm.logicalId).toMatchObject({
    Statistic: statistic,
    Period: 300,
    EvaluationPeriods: 1,
    ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    TreatMissingData: 'notBreaching',
    AlarmActions: [{ Ref: 'AlarmTopic' }],
  });
  expect(alarm.AlarmName, alarm.logicalId).toMatch(/^iam-onboarding-dev-/);
  expect(alarm.AlarmDescription.length, alarm.logicalId).toBeGreaterThan(20);
}

const stateMachines = () => resourcesOfType(template, 'AWS::StepFunctions::StateMachine').map(([logicalId]) => logicalId);
const functionIds = () => Object.entries(lambdaFunctions(template)).map(([key, fn]) => [key, fn.logicalId] as const);

describe('alarms', () => {
  it('fire on failed, timed-out and aborted executions of each state machine', () => {
    expect(stateMachines().sort()).toEqual(['MoveStateMachine', 'OffboardingStateMachine', 'OnboardingStateMachine', 'ReprovisionStateMachine']);
    for (const machine of stateMachines()) {
      for (const metric of ['ExecutionsFailed', 'ExecutionsTimedOut', 'ExecutionsAborted']) {
        expectPagesOps(alarmOn(template, 'AWS/States', metric, 'StateMachineArn', { Ref: machine }), 1);
      }
    }
  });

  it('fire on any HR event in the rule\'s dead-letter queue', () => {
    const queue = template.Resources.HrEventsDeadLetterQueue;
    expect(queue?.Type).toBe('AWS::SQS::Queue');
    // The queue the alarm watches is the one the HR rule sends its dead letters to.
    const rules = resourcesOfType(template, 'AWS::Events::Rule').flatMap(([, rule]) => asList(rule.Properties?.Targets as Array<{ DeadLetterConfig?: { Arn: unknown } }>));
    expect(rules.map((target) => target.DeadLetterConfig?.Arn)).toContainEqual({ 'Fn::GetAtt': ['HrEventsDeadLetterQueue', 'Arn'] });
    const alarm = alarmOn(template, 'AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'QueueName', { 'Fn::GetAtt': ['HrEventsDeadLetterQueue', 'QueueName'] });
    expectPagesOps(alarm, 1, 'Maximum');
  });

  it('fire on any error of the sweep (a failure, a timeout, SweepIncomplete)', () => {
    const { logicalId } = lambdaFunctions(template).reprovisionSweep!;
    expectPagesOps(alarmOn(template, 'AWS/Lambda', 'Errors', 'FunctionName', { Ref: logicalId }), 1);
  });

  it('fire on errors past the threshold, and on any throttle, of every function but createUser and offboardUser', () => {
    expect(functionIds()).toHaveLength(17);
    for (const [key, logicalId] of functionIds()) {
      // createUser's reserved concurrency throttles it on purpose under a burst (README "Bursts"),
      // and offboardUser's makes offboardings take turns.
      if (key === 'createUser' || key === 'offboardUser') expect(alarmsOn(template, 'AWS/Lambda', 'Throttles', 'FunctionName', { Ref: logicalId })).toEqual([]);
      else expectPagesOps(alarmOn(template, 'AWS/Lambda', 'Throttles', 'FunctionName', { Ref: logicalId }), 1);
      if (key === 'reprovisionSweep') continue;
      expectPagesOps(alarmOn(template, 'AWS/Lambda', 'Errors', 'FunctionName', { Ref: logicalId }), 5);
      expectPagesOps(alarmOn(tuned, 'AWS/Lambda', 'Errors', 'FunctionName', { Ref: logicalId }), 12);
    }
  });

  it('are exactly those: 12 on executions, 1 on dead letters, 1 on the sweep, 16 on errors, 15 on throttles', () => {
    expect(alarms(template)).toHaveLength(45);
    expect(new Set(alarms(template).map((a) => a.AlarmName)).size).toBe(45);
    // Every alarm only ever pages through the topic.
    for (const alarm of alarms(template)) expect(alarm.OKActions, alarm.logicalId).toBeUndefined();
  });
});

describe('the alarm topic', () => {
  const subscriptions = (t: Template) => resourcesOfType(t, 'AWS::SNS::Subscription').map(([, s]) => s.Properties);

  it('has the ops address subscribed by email, or the alarmEmail setting when given', () => {
    expect(resourcesOfType(template, 'AWS::SNS::Topic').map(([id]) => id)).toEqual(['AlarmTopic']);
    expect(subscriptions(template)).toEqual([{ TopicArn: { Ref: 'AlarmTopic' }, Protocol: 'email', Endpoint: OPS }]);
    expect(subscriptions(tuned)).toEqual([{ TopicArn: { Ref: 'AlarmTopic' }, Protocol: 'email', Endpoint: PAGER }]);
    // The ops mail of failed onboardings still goes to opsEmail only.
    expect(JSON.stringify(tuned.Resources.NotifyOpsIamRoleLambdaExecution)).toContain(OPS);
    expect(JSON.stringify(tuned.Resources.NotifyOpsIamRoleLambdaExecution)).not.toContain(PAGER);
  });

  it('lets only this stack\'s CloudWatch alarms publish, over TLS', () => {
    const [topicPolicy] = policyDocuments(template).filter((d) => d.where === 'AlarmTopicPolicy');
    expect(topicPolicy?.statements).toEqual([
      expect.objectContaining({
        Effect: 'Allow',
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: 'sns:Publish',
        Resource: { Ref: 'AlarmTopic' },
        Condition: {
          ArnLike: { 'aws:SourceArn': { 'Fn::Sub': 'arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:iam-onboarding-dev-*' } },
        },
      }),
      expect.objectContaining({ Effect: 'Deny', Action: 'sns:Publish', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    ]);
    // Every alarm's name is one the policy lets publish.
    for (const alarm of alarms(template)) expect(alarm.AlarmName).toMatch(/^iam-onboarding-dev-/);
  });
});

interface Widget {
  type: string;
  properties: { title?: string; metrics?: unknown[][]; alarms?: string[]; markdown?: string; stat?: string; region?: string };
}

/**
 * The dashboard's widgets, from its `Fn::Sub` body: each `${Name}` or `${Name.Attribute}` is
 * kept as written (it must name a resource of the stack or a pseudo parameter).
 */
function dashboard(t: Template): { widgets: Widget[]; references: string[] } {
  const resource = resourcesOfType(t, 'AWS::CloudWatch::Dashboard');
  expect(resource).toHaveLength(1);
  const body = (resource[0]![1].Properties as { DashboardBody: { 'Fn::Sub': string } }).DashboardBody['Fn::Sub'];
  const references = [...body.matchAll(/\$\{([^}]+)\}/g)].map((m) => m[1]!);
  return { widgets: (JSON.parse(body) as { widgets: Widget[] }).widgets, references };
}

const widget = (title: string) => {
  const found = dashboard(template).widgets.find((w) => w.properties.title === title);
  expect(found, title).toBeDefined();
  return found!;
};

describe('the dashboard', () => {
  it('refers only to resources of the stack and pseudo parameters', () => {
    const { references } = dashboard(template);
    expect(references.length).toBeGreaterThan(0);
    for (const reference of references) {
      if (reference.startsWith('AWS::')) continue;
      const [logicalId] = reference.split('.');
      expect(template.Resources[logicalId!], reference).toBeDefined();
    }
  });

  it('shows the executions of each state machine', () => {
    for (const [title, machine] of [
      ['Onboarding executions', 'OnboardingStateMachine'],
      ['Reprovision executions', 'ReprovisionStateMachine'],
      ['Move executions', 'MoveStateMachine'],
      ['Offboarding executions', 'OffboardingStateMachine'],
    ] as const) {
      expect(widget(title).properties.metrics!.map((m) => m.slice(0, 4))).toEqual(
        ['Started', 'Succeeded', 'Failed', 'TimedOut', 'Aborted'].map((what) => ['AWS/States', `Executions${what}`, 'StateMachineArn', `\${${machine}}`]),
      );
    }
  });

  it('shows every workflow count, in the namespace and service the functions publish under', () => {
    const env = functionEnvironment(template, 'markComplete');
    const namespace = env.POWERTOOLS_METRICS_NAMESPACE;
    expect(namespace).toBe('iam-onboarding/dev');
    const counted = Object.keys(WORKFLOW_METRICS).filter((m) => m !== 'Failed');
    expect(widget('Workflow outcomes').properties.metrics).toEqual(counted.map((m) => [namespace, m, 'service', env.POWERTOOLS_SERVICE_NAME]));
    // Failures by their ErrorName dimension, whichever names occur.
    const [[search]] = widget('Failed executions by error name').properties.metrics as [[{ expression: string }]];
    expect(search.expression).toBe(`SEARCH('{${namespace},ErrorName,service} MetricName="Failed" service="iam-onboarding"', 'Sum', 300)`);
    // Every function publishes there; only markComplete tells an onboarding from a reprovision.
    for (const key of Object.keys(lambdaFunctions(template))) expect(functionEnvironment(template, key).POWERTOOLS_METRICS_NAMESPACE, key).toBe(namespace);
    expect(env.ONBOARDING_STATE_MACHINE_NAME).toBe('iam-onboarding-dev-onboarding');
    expect((template.Resources.OnboardingStateMachine as TemplateResource).Properties?.StateMachineName).toBe(env.ONBOARDING_STATE_MACHINE_NAME);
  });

  it('shows the dead-letter queue, every function\'s errors and throttles, and every alarm', () => {
    expect(widget('HR events in the dead-letter queue').properties.metrics![0]!.slice(0, 4)).toEqual([
      'AWS/SQS',
      'ApproximateNumberOfMessagesVisible',
      'QueueName',
      '${HrEventsDeadLetterQueue.QueueName}',
    ]);
    for (const [title, metric] of [['Lambda errors', 'Errors'], ['Lambda throttles', 'Throttles']] as const) {
      expect(widget(title).properties.metrics!.map((m) => m.slice(0, 4))).toEqual(
        functionIds().map(([, logicalId]) => ['AWS/Lambda', metric, 'FunctionName', `\${${logicalId}}`]),
      );
    }
    const shown = dashboard(template).widgets.find((w) => w.type === 'alarm')!.properties.alarms!;
    expect([...shown].sort()).toEqual(alarms(template).map((a) => `\${${a.logicalId}.Arn}`).sort());
  });
});

describe('least privilege with metrics and alarms', () => {
  it('gives no function a CloudWatch, SNS or SQS permission: metrics go through the function\'s own log', () => {
    const granted = allowStatements(template).flatMap(({ where, statement }) => actionsOf(statement).map((action) => `${where}: ${action}`));
    expect(granted.filter((g) => /: (cloudwatch|sns|sqs):/.test(g))).toEqual([]);
    for (const key of Object.keys(lambdaFunctions(template))) {
      const logs = functionActions(template, key, { includeLogs: true }).filter((a) => a.startsWith('logs:'));
      // What every function has for its own log group, and nothing more for the metrics.
      expect(logs, key).toEqual(['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents']);
    }
  });

  it('lints clean with cfn-lint, whatever the alarm settings', async () => {
    for (const templatePath of templatePaths) {
      const result = await cfnLint(templatePath);
      expect(result.code & 0b11, result.output).toBe(0);
    }
  });
});
