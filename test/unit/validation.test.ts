import * as z from 'zod/mini';
import { describe, expect, it } from 'vitest';
import { describeIssues, validate } from '../../functions/lib/validation.ts';

const schema = z.strictObject({
  name: z.string().check(z.minLength(1, 'must not be empty'), z.maxLength(3, 'must be at most 3 characters')),
  count: z.number('must be a number of things'),
  tags: z.optional(z.array(z.string())),
  nested: z.optional(z.strictObject({ flag: z.boolean() })),
});

const issues = (input: unknown) => {
  const result = validate(schema, input, '(input)');
  if (result.success) throw new Error('expected a failure');
  return result.issues;
};

describe('validate', () => {
  it('returns the parsed data', () => {
    expect(validate(schema, { name: 'ab', count: 2 }, '(input)')).toEqual({ success: true, data: { name: 'ab', count: 2 } });
  });

  it('says a missing field is required, even when its schema has its own message', () => {
    expect(issues({})).toEqual([
      { field: 'name', problem: 'is required' },
      { field: 'count', problem: 'is required' },
    ]);
  });

  it('names the expected type where the schema says nothing, and keeps the schema\'s own message', () => {
    expect(issues({ name: 'ab', count: 'two', tags: 'x', nested: { flag: 'yes' } })).toEqual([
      { field: 'count', problem: 'must be a number of things' },
      { field: 'tags', problem: 'must be of type array' },
      { field: 'nested.flag', problem: 'must be of type boolean' },
    ]);
  });

  it('names the input itself with the caller\'s word, and every unknown field (cut to 64 characters)', () => {
    expect(issues('not an object')).toEqual([{ field: '(input)', problem: 'must be of type object' }]);
    expect(issues({ name: 'ab', count: 1, extra: 1, ['k'.repeat(100)]: 2, nested: { flag: true, more: 1 } })).toEqual([
      { field: 'nested', problem: 'unknown field(s) "more"' },
      { field: '(input)', problem: `unknown field(s) "extra", "${'k'.repeat(64)}"` },
    ]);
  });

  it('gives one problem per field, the first', () => {
    expect(issues({ name: '', count: 1, tags: [1, 2] })).toEqual([
      { field: 'name', problem: 'must not be empty' },
      { field: 'tags.0', problem: 'must be of type string' },
      { field: 'tags.1', problem: 'must be of type string' },
    ]);
  });

  it('never echoes a value', () => {
    const text = describeIssues(issues({ name: 'secret-value', count: 'secret-count' }));
    expect(text).not.toContain('secret');
  });
});

describe('describeIssues', () => {
  it('is `field: problem`, joined by "; "', () => {
    expect(describeIssues([{ field: 'a', problem: 'is required' }, { field: 'b.0', problem: 'must be of type string' }])).toBe(
      'a: is required; b.0: must be of type string',
    );
    expect(describeIssues([])).toBe('');
  });
});
