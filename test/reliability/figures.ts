import type { TaskMeta } from 'vitest';

/** A figure the reliability suite prints, one per line, after the run. */
export type Figure = string | number;

declare module 'vitest' {
  interface TaskMeta {
    figures?: Array<[string, Figure]>;
  }
}

/** Records a figure on the running test; the reliability reporter prints it. */
export function recordFigure(task: { meta: TaskMeta }, name: string, value: Figure): void {
  (task.meta.figures ??= []).push([name, value]);
}
