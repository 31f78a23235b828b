import type { HistoryEvent as SdkHistoryEvent } from '@aws-sdk/client-sfn';
import { describe, expect, it } from 'vitest';
import { HistoryRecorder, withoutExecutionData, type HistoryEvent, type Invocation } from '../../local/history.ts';
import { StepParser } from '../../cli/execution-history.ts';
import { TimelinePrinter } from '../../local/timeline.ts';

const task = (name: string, type = 'Task') => ({ name, type, input: { in: name } });
const at = (timestamp: number) => ({ timestamp });
const invocation = (state: string, startedAt: number): Invocation => ({ state, resource: `arn:fn:${state}`, input: { p: state }, startedAt });
const types = (recorder: HistoryRecorder) => recorder.events.map((e) => e.type);

describe('execution history', () => {
  it('places an invocation after its state was entered, whichever was reported first', () => {
    const early = new HistoryRecorder('role');
    early.record({ type: 'ExecutionStarted', ...at(1), input: { a: 1 } });
    // The handler ran before the library's StateEntered event was delivered.
    const call = invocation('A', 2);
    early.invocationStarted(call);
    call.ended = { at: 3, output: { ok: true } };
    early.invocationEnded(call);
    early.record({ type: 'StateEntered', ...at(2), state: task('A') });
    early.record({ type: 'StateExited', ...at(4), state: { ...task('A'), output: { ok: true } } });
    early.record({ type: 'ExecutionSucceeded', ...at(5), output: { ok: true } });

    const late = new HistoryRecorder('role');
    late.record({ type: 'ExecutionStarted', ...at(1), input: { a: 1 } });
    late.record({ type: 'StateEntered', ...at(2), state: task('A') });
    const call2 = invocation('A', 2);
    late.invocationStarted(call2);
    call2.ended = { at: 3, output: { ok: true } };
    late.invocationEnded(call2);
    late.record({ type: 'StateExited', ...at(4), state: { ...task('A'), output: { ok: true } } });
    late.record({ type: 'ExecutionSucceeded', ...at(5), output: { ok: true } });

    const expected = [
      'ExecutionStarted',
      'TaskStateEntered',
      'LambdaFunctionScheduled',
      'LambdaFunctionStarted',
      'LambdaFunctionSucceeded',
      'TaskStateExited',
      'ExecutionSucceeded',
    ];
    expect(types(early)).toEqual(expected);
    expect(late.events).toEqual(early.events);
    expect(early.events[2]).toMatchObject({
      id: 3,
      previousEventId: 2,
      timestamp: 2,
      lambdaFunctionScheduledEventDetails: { resource: 'arn:fn:A', input: '{"p":"A"}', inputDetails: { truncated: false } },
    });
    expect(early.events[0]).toMatchObject({ executionStartedEventDetails: { input: '{"a":1}', roleArn: 'role' } });
  });

  it('shows a retry as AWS does: the failure, then a new invocation of the same state', () => {
    const history = new HistoryRecorder('role');
    history.record({ type: 'StateEntered', ...at(1), state: task('A') });
    const first = invocation('A', 1);
    history.invocationStarted(first);
    first.ended = { at: 2, error: { error: 'NoSuchEntityException', cause: '{"errorMessage":"gone"}' } };
    history.invocationEnded(first);
    const second = invocation('A', 200);
    // The retry's invocation is recorded before the library's StateFailed and StateRetried arrive.
    history.invocationStarted(second);
    history.record({ type: 'StateFailed', ...at(2), state: task('A'), Error: 'NoSuchEntityException' });
    history.record({ type: 'StateRetried', ...at(200), state: task('A') });
    second.ended = { at: 210, output: 1 };
    history.invocationEnded(second);
    history.record({ type: 'StateExited', ...at(211), state: { ...task('A'), output: 1 } });

    expect(types(history)).toEqual([
      'TaskStateEntered',
      'LambdaFunctionScheduled',
      'LambdaFunctionStarted',
      'LambdaFunctionFailed',
      'LambdaFunctionScheduled',
      'LambdaFunctionStarted',
      'LambdaFunctionSucceeded',
      'TaskStateExited',
    ]);
    expect(history.events[3]).toMatchObject({ timestamp: 2, lambdaFunctionFailedEventDetails: { error: 'NoSuchEntityException' } });
    expect(history.events[4]?.timestamp).toBe(200);
  });

  it('records a Task that gave up on a running function as timed out, and nothing after the execution closed', () => {
    const history = new HistoryRecorder('role');
    history.record({ type: 'StateEntered', ...at(1), state: task('Slow') });
    const call = invocation('Slow', 1);
    history.invocationStarted(call);
    history.record({ type: 'StateFailed', ...at(60_001), state: task('Slow'), Error: 'States.Timeout', Cause: 'Task timed out' });
    call.ended = { at: 70_000, output: 'late' };
    history.invocationEnded(call);
    history.record({ type: 'ExecutionFailed', ...at(60_002), Error: 'States.Timeout', Cause: 'Task timed out' });
    history.aborted(60_003, 'X', 'Y');

    expect(types(history)).toEqual(['TaskStateEntered', 'LambdaFunctionScheduled', 'LambdaFunctionStarted', 'LambdaFunctionTimedOut', 'ExecutionFailed']);
    expect(history.events[3]).toMatchObject({ lambdaFunctionTimedOutEventDetails: { error: 'States.Timeout', cause: 'Task timed out' } });
    expect(history.events[4]).toMatchObject({ executionFailedEventDetails: { error: 'States.Timeout', cause: 'Task timed out' } });
  });

  it('names Choice, Pass and Fail states as AWS does; a Fail state has no exit', () => {
    const history = new HistoryRecorder('role');
    history.record({ type: 'StateEntered', ...at(1), state: task('Pick', 'Choice') });
    history.record({ type: 'StateExited', ...at(1), state: { ...task('Pick', 'Choice'), output: {} } });
    history.record({ type: 'StateCaught', ...at(1), state: task('Pick', 'Choice') });
    history.record({ type: 'StateEntered', ...at(2), state: task('Stop', 'Fail') });
    history.record({ type: 'StateFailed', ...at(2), state: task('Stop', 'Fail'), Error: 'E' });
    history.record({ type: 'StateExited', ...at(2), state: task('Stop', 'Fail') });
    history.record({ type: 'MapIterationStarted', ...at(3), index: 4, parentState: { name: 'Each' } });

    expect(types(history)).toEqual(['ChoiceStateEntered', 'ChoiceStateExited', 'FailStateEntered', 'MapIterationStarted']);
    expect(history.events[3]).toMatchObject({ mapIterationStartedEventDetails: { name: 'Each', index: 4 } });
  });

  it('leaves inputs and outputs out when execution data is not wanted', () => {
    const event: HistoryEvent = {
      id: 1,
      previousEventId: 0,
      timestamp: 1,
      type: 'TaskStateExited',
      stateExitedEventDetails: { name: 'A', output: '{"x":1}', outputDetails: { truncated: false } },
    };
    expect(withoutExecutionData(event)).toEqual({ ...event, stateExitedEventDetails: { name: 'A', outputDetails: { truncated: false } } });
    expect(event.stateExitedEventDetails).toMatchObject({ output: '{"x":1}' });
  });
});

describe('timeline', () => {
  it('prints states, failures with their message, retries with their wait, and the end', () => {
    const history = new HistoryRecorder('role');
    history.record({ type: 'ExecutionStarted', ...at(1_000), input: {} });
    history.record({ type: 'StateEntered', ...at(1_000), state: task('CreateLoginProfile') });
    const first = invocation('CreateLoginProfile', 1_010);
    history.invocationStarted(first);
    first.ended = { at: 1_050, error: { error: 'NoSuchEntityException', cause: JSON.stringify({ errorType: 'NoSuchEntityException', errorMessage: 'The user with name bob cannot be found.' }) } };
    history.invocationEnded(first);
    history.record({ type: 'StateFailed', ...at(1_050), state: task('CreateLoginProfile') });
    history.record({ type: 'StateRetried', ...at(1_200), state: task('CreateLoginProfile') });
    const second = invocation('CreateLoginProfile', 1_200);
    history.invocationStarted(second);
    second.ended = { at: 1_260, output: {} };
    history.invocationEnded(second);
    history.record({ type: 'StateExited', ...at(1_261), state: { ...task('CreateLoginProfile'), output: {} } });
    history.record({ type: 'ExecutionFailed', ...at(1_300), Error: 'MessageRejected', Cause: '{"errorMessage":"Email address is not verified."}' });

    const lines: string[] = [];
    const printer = new TimelinePrinter((line) => lines.push(line));
    const steps = new StepParser();
    for (const recorded of history.events) {
      const event = { ...recorded, timestamp: new Date(recorded.timestamp) } as SdkHistoryEvent;
      printer.add(event, steps.push(event));
    }

    expect(lines).toEqual([
      '    +0.000s  execution started',
      '    +0.000s  → CreateLoginProfile',
      '    +0.050s      ✗ NoSuchEntityException: The user with name bob cannot be found.',
      '    +0.200s      ↻ retry 1 after 150 ms',
      '    +0.261s  ← CreateLoginProfile (261 ms, 1 retry)',
      '    +0.300s  execution FAILED: MessageRejected: Email address is not verified.',
    ]);
  });
});
