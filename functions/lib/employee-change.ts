import * as z from 'zod/mini';
import { InvalidHrEvent } from './errors.ts';
import { hrEventSchema, requestedGroups } from './hire.ts';
import { validate } from './validation.ts';

/**
 * The "employee changed" event's `detail` (also the input of a manual move): who, and their
 * new department or groups. Its fields follow the same rules as a hire's, and unknown fields
 * are rejected, so a misspelt `department` fails loudly instead of taking everyone's groups.
 */
export const changeEventSchema = z
  .strictObject({
    employeeId: hrEventSchema.shape.employeeId,
    userName: hrEventSchema.shape.userName,
    department: hrEventSchema.shape.department,
    groups: hrEventSchema.shape.groups,
  })
  .check(
    z.refine((event) => event.department !== undefined || event.groups !== undefined, {
      message: 'must name a new department or new groups',
      path: ['department'],
    }),
  );

/** A validated change, with the groups the employee should now have settled. */
export interface EmployeeChange {
  employeeId: string;
  userName?: string;
  department?: string;
  /** What the department's map (or the event's own list) gives: the groups this workflow assigns now. */
  groups: string[];
}

/** Validates the change and settles its groups. Throws {@link InvalidHrEvent} naming every bad field; never echoes values. */
export function parseChange(input: unknown, departmentGroups: Record<string, string[]>): EmployeeChange {
  const result = validate(changeEventSchema, input, '(event)');
  if (!result.success) throw new InvalidHrEvent(result.issues);
  const event = result.data;
  return {
    employeeId: event.employeeId,
    ...(event.userName !== undefined && { userName: event.userName }),
    ...(event.department !== undefined && { department: event.department }),
    groups: requestedGroups(event, departmentGroups),
  };
}
