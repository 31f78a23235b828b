// Promise.withResolvers arrived in node 22; aws-local-stepfunctions calls it.
type Resolvers<T> = {
  promise: Promise<T>;
  resolve: (value: T | PromiseLike<T>) => void;
  reject: (reason?: unknown) => void;
};

const P = Promise as unknown as { withResolvers?: <T>() => Resolvers<T> };
if (typeof P.withResolvers !== 'function') {
  P.withResolvers = <T>(): Resolvers<T> => {
    let resolve!: Resolvers<T>['resolve'];
    let reject!: Resolvers<T>['reject'];
    const promise = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}

// setTimeout holds at most 2^31-1 ms (about 24.8 days): a longer delay fires after 1 ms, with a
// TimeoutOverflowWarning. aws-local-stepfunctions waits for a Wait state's timestamp with one
// setTimeout, so a start date a month away would pass at once. Longer delays are chained here
// through timers that each wait at most that long; clearTimeout stops a chain.
const MAX_DELAY_MS = 2 ** 31 - 1;
type Callback = (...args: unknown[]) => void;

class ChainedTimeout {
  timer: ReturnType<typeof setTimeout> | undefined;
  private referenced = true;

  ref(): this {
    this.referenced = true;
    this.timer?.ref();
    return this;
  }

  unref(): this {
    this.referenced = false;
    this.timer?.unref();
    return this;
  }

  hasRef(): boolean {
    return this.referenced;
  }

  arm(timer: ReturnType<typeof setTimeout>): void {
    this.timer = timer;
    if (!this.referenced) timer.unref();
  }
}

const nativeSetTimeout = globalThis.setTimeout;
const nativeClearTimeout = globalThis.clearTimeout;

function chainedSetTimeout(callback: Callback, delay?: number, ...args: unknown[]): unknown {
  if (typeof delay !== 'number' || !(delay > MAX_DELAY_MS)) return nativeSetTimeout(callback, delay, ...args);
  const due = Date.now() + delay;
  const chained = new ChainedTimeout();
  const step = (): void => {
    const left = due - Date.now();
    chained.arm(left > MAX_DELAY_MS ? nativeSetTimeout(step, MAX_DELAY_MS) : nativeSetTimeout(callback, Math.max(left, 0), ...args));
  };
  step();
  return chained;
}

function chainedClearTimeout(timeout: unknown): void {
  nativeClearTimeout((timeout instanceof ChainedTimeout ? timeout.timer : timeout) as Parameters<typeof clearTimeout>[0]);
}

globalThis.setTimeout = Object.assign(chainedSetTimeout, nativeSetTimeout) as unknown as typeof setTimeout;
globalThis.clearTimeout = chainedClearTimeout as typeof clearTimeout;
