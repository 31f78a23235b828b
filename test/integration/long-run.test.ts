/**
 * The local stack over a long run (`npm run local` may stay up for days): a thousand executions,
 * and no abort signal of the process gathers listeners as they go. Every listener added to an
 * AbortSignal is counted, per signal, with what removes it; each signal's count must stay flat.
 */
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../../local/stack.ts';
import { captureOutput } from '../support/capture.ts';

const EXECUTIONS = 1_000;
const AT_ONCE = 25;

/** Abort listeners held by each signal: added minus removed (and fired, for `once` ones). */
const held = new Map<AbortSignal, number>();
const proto = EventTarget.prototype;
const add = proto.addEventListener;
const remove = proto.removeEventListener;

type AddArgs = Parameters<EventTarget['addEventListener']>;
type RemoveArgs = Parameters<EventTarget['removeEventListener']>;

function countListeners(): void {
  const listeners = new WeakMap<AbortSignal, Map<unknown, () => void>>();
  const countAdded = (signal: AbortSignal, listener: NonNullable<AddArgs[1]>, options: AddArgs[2]) => {
    const mine = listeners.get(signal) ?? new Map<unknown, () => void>();
    listeners.set(signal, mine);
    if (mine.has(listener)) return;
    const forget = () => {
      if (mine.delete(listener)) held.set(signal, (held.get(signal) ?? 1) - 1);
    };
    mine.set(listener, forget);
    held.set(signal, (held.get(signal) ?? 0) + 1);
    // A `once` listener is gone when the signal fires.
    if (typeof options === 'object' && options.once) add.call(signal, 'abort', forget, { once: true });
  };
  proto.addEventListener = function (this: EventTarget, ...[type, listener, options]: AddArgs) {
    if (this instanceof AbortSignal && type === 'abort' && listener) countAdded(this, listener, options);
    add.call(this, type, listener, options);
  };
  proto.removeEventListener = function (this: EventTarget, ...[type, listener, options]: RemoveArgs) {
    if (this instanceof AbortSignal && type === 'abort') listeners.get(this)?.get(listener)?.();
    remove.call(this, type, listener, options);
  };
}

/** The most listeners any signal of the process holds now. */
const mostHeld = () => Math.max(0, ...held.values());

let stack: LocalStack;
let output: ReturnType<typeof captureOutput>;

beforeAll(async () => {
  countListeners();
  output = captureOutput();
  stack = await startLocalStack({ quiet: true });
}, 180_000);

afterAll(async () => {
  await stack?.stop();
  output?.restore();
  proto.addEventListener = add;
  proto.removeEventListener = remove;
});

describe('the local stack over a thousand executions', () => {
  it('holds no more abort listeners after the thousandth than after the first hundred', async () => {
    const sfn = new SFNClient({ endpoint: stack.endpoint, region: stack.region, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    const onboarding = stack.stateMachines.find((m) => m.key === 'onboarding')!.arn;
    const samples: number[] = [];

    // An input the onboarding refuses at once: validation, then the ops email through SES (moto).
    for (let started = 0; started < EXECUTIONS; started += AT_ONCE) {
      await Promise.all(
        Array.from({ length: AT_ONCE }, (_, i) =>
          sfn.send(new StartExecutionCommand({ stateMachineArn: onboarding, name: `long-run-${started + i}`, input: JSON.stringify({ employeeId: 42 }) })),
        ),
      );
      await stack.waitForIdle(60_000);
      if ((started + AT_ONCE) % 100 === 0) samples.push(mostHeld());
    }

    expect(stack.executions(onboarding).filter((e) => e.name.startsWith('long-run-'))).toHaveLength(EXECUTIONS);
    expect(stack.requests({ service: 'ses', operation: 'SendEmail' }).length).toBeGreaterThanOrEqual(EXECUTIONS);
    // Flat: what the first hundred left is all any signal holds after a thousand.
    expect(Math.max(...samples)).toBe(samples[0]);
    expect(samples[0]).toBeLessThan(10);
  }, 600_000);
});
