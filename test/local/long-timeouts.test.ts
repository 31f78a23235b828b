import { describe, expect, it } from 'vitest';
import '../../local/polyfills.ts';

describe('setTimeout beyond 2^31-1 ms (a Wait state for a start date weeks away)', () => {
  it('waits instead of firing at once, and clearTimeout stops it', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on('warning', onWarning);
    let fired = false;
    const thirtyDays = 30 * 86_400_000;
    const timeout = setTimeout(() => {
      fired = true;
    }, thirtyDays);
    await new Promise((resolve) => setTimeout(resolve, 20));
    clearTimeout(timeout);
    process.off('warning', onWarning);

    expect(fired).toBe(false);
    expect(warnings).not.toContain('TimeoutOverflowWarning');
  });

  it('leaves ordinary delays to the native timer', async () => {
    const order: number[] = [];
    setTimeout(() => order.push(2), 5);
    setTimeout(() => order.push(1), 0);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(order).toEqual([1, 2]);
  });
});
