/**
 * EventBridge rules that start state machines, as serverless.yml declares them. moto matches
 * event patterns for real but cannot start a local state machine, so each rule gets an SQS
 * queue as its target in moto; after a PutEvents the queues are drained and each delivered
 * event starts its state machine with the input the deployed rule would pass (`inputPath`,
 * which moto does not apply to SQS targets, is applied here).
 */
import {
  CreateEventBusCommand,
  PutRuleCommand,
  PutTargetsCommand,
  ResourceAlreadyExistsException,
  type EventBridgeClient,
} from '@aws-sdk/client-eventbridge';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { JSONPath } from 'jsonpath-plus';
import type { EventBridgeRoute } from './service-config.ts';
import type { Execution } from './execution-engine.ts';
import type { StepFunctionsApi } from './step-functions.ts';

export interface Route extends EventBridgeRoute {
  ruleName: string;
  stateMachineArn: string;
  queueUrl: string;
}

/** What one rule did with one event it matched. */
export interface RuleDelivery {
  ruleName: string;
  eventId: string;
  execution?: Execution;
  /** Why the rule's target could not start the execution (EventBridge would retry, then give up). */
  error?: string;
}

/** The input a rule passes to its target: constant `input`, the `inputPath` part, or the whole event. */
export function targetInput(route: Pick<EventBridgeRoute, 'input' | 'inputPath'>, event: unknown): unknown {
  if (route.input !== undefined) return typeof route.input === 'string' ? JSON.parse(route.input) : route.input;
  if (!route.inputPath || route.inputPath === '$') return event;
  return JSONPath({ path: route.inputPath, json: event as object, wrap: false });
}

export class EventRouter {
  private routes: Route[] = [];

  constructor(
    private readonly clients: { events: EventBridgeClient; sqs: SQSClient },
    private readonly stepFunctions: Pick<StepFunctionsApi, 'startExecution'>,
  ) {}

  list(): Route[] {
    return [...this.routes];
  }

  /** Creates in moto the buses, rules and queue targets for the declared routes. */
  async provision(declared: Array<{ stateMachineArn: string; stateMachineName: string; routes: EventBridgeRoute[] }>): Promise<Route[]> {
    const { events, sqs } = this.clients;
    const routes: Route[] = [];
    for (const machine of declared) {
      for (const [index, route] of machine.routes.entries()) {
        if (route.eventBusName !== 'default') {
          try {
            await events.send(new CreateEventBusCommand({ Name: route.eventBusName }));
          } catch (error) {
            if (!(error instanceof ResourceAlreadyExistsException)) throw error;
          }
        }
        const ruleName = `${machine.stateMachineName}-rule-${index + 1}`.slice(-64);
        const { QueueUrl: queueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `${ruleName}-target`.slice(-80) }));
        const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
        await events.send(
          new PutRuleCommand({ Name: ruleName, EventBusName: route.eventBusName, EventPattern: JSON.stringify(route.pattern) }),
        );
        await events.send(
          new PutTargetsCommand({
            Rule: ruleName,
            EventBusName: route.eventBusName,
            Targets: [{ Id: 'state-machine', Arn: Attributes?.QueueArn }],
          }),
        );
        routes.push({ ...route, ruleName, stateMachineArn: machine.stateMachineArn, queueUrl: queueUrl as string });
      }
    }
    this.routes = routes;
    return routes;
  }

  /** Takes every event the rules matched and starts the state machines. */
  async deliver(): Promise<RuleDelivery[]> {
    const deliveries: RuleDelivery[] = [];
    for (const route of this.routes) {
      for (;;) {
        const { Messages = [] } = await this.clients.sqs.send(
          new ReceiveMessageCommand({ QueueUrl: route.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
        );
        if (Messages.length === 0) break;
        for (const message of Messages) {
          const event = JSON.parse(message.Body ?? '{}') as { id?: string };
          const delivery: RuleDelivery = { ruleName: route.ruleName, eventId: event.id ?? '' };
          try {
            const input = targetInput(route, event);
            delivery.execution = this.stepFunctions.startExecution(route.stateMachineArn, JSON.stringify(input ?? null));
          } catch (error) {
            delivery.error = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
          }
          deliveries.push(delivery);
        }
        await this.clients.sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: route.queueUrl,
            Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
          }),
        );
      }
    }
    return deliveries;
  }
}
