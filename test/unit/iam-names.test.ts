import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../functions/lib/config.ts';
import {
  exactTagValue,
  iamGroupName,
  iamUserName,
  isIamPath,
  isManagedByValue,
  nameCharactersOf,
  toTagValue,
} from '../../functions/lib/iam-names.ts';
import { TEST_ENV } from '../../testing/lambda-env.ts';

describe('IAM names', () => {
  it('user names: at most 64 of letters, digits and +=,.@_-', () => {
    const userName = iamUserName();
    expect(userName.safeParse('Bob.Builder+ops=1,2@x_y-z').success).toBe(true);
    expect(userName.safeParse('u'.repeat(64)).success).toBe(true);
    for (const bad of ['', 'u'.repeat(65), 'bob builder', 'bob/builder', 'bób']) expect(userName.safeParse(bad).success).toBe(false);
  });

  it('group names: at most 128 of the same characters', () => {
    expect(iamGroupName().safeParse('g'.repeat(128)).success).toBe(true);
    expect(iamGroupName().safeParse('g'.repeat(129)).success).toBe(false);
  });

  it('nameCharactersOf keeps exactly the characters a user name may have', () => {
    expect(nameCharactersOf('Jane Doe!#+ops=1,2@x_y-z.é')).toBe('JaneDoe+ops=1,2@x_y-z.');
    fc.assert(fc.property(fc.string({ minLength: 1 }), (text) => {
      const kept = nameCharactersOf(text);
      if (kept !== '') expect(iamUserName().safeParse(kept.slice(0, 64)).success).toBe(true);
    }));
  });
});

describe('IAM paths', () => {
  it.each(['/', '/onboarding/', '/people/new-hires/', `/${'p'.repeat(510)}/`])('accepts %j', (path) => {
    expect(isIamPath(path)).toBe(true);
  });

  it.each(['', 'onboarding', '/onboarding', 'onboarding/', '//', '/on boarding/', '/é/', `/${'p'.repeat(511)}/`, '/a\nb/'])('refuses %j', (path) => {
    expect(isIamPath(path)).toBe(false);
  });
});

describe('tag values', () => {
  it('toTagValue turns other characters into spaces and cuts to 256', () => {
    expect(toTagValue('arn:aws:states:us-east-1:1:execution:m:run-1')).toBe('arn:aws:states:us-east-1:1:execution:m:run-1');
    expect(toTagValue('a#b,c<d>')).toBe('a b c d ');
    expect(toTagValue('Zoë Łukasz 王')).toBe('Zoë Łukasz 王');
    expect(toTagValue('x'.repeat(300))).toHaveLength(256);
  });

  it('exactTagValue keeps only text that survives as a tag value unchanged', () => {
    expect(exactTagValue('bob@example.com')).toBe('bob@example.com');
    expect(exactTagValue('bob+1@example.com')).toBe('bob+1@example.com');
    expect(exactTagValue("o'brien@example.com")).toBeUndefined();
  });

  it('the managed-by value: 1-256 tag-value characters on one line', () => {
    for (const good of ['iam-onboarding-dev', 'team a/b:c=d+e@f_g.h', 'm'.repeat(256)]) expect(isManagedByValue(good)).toBe(true);
    for (const bad of ['', 'm'.repeat(257), 'a#b', 'a,b', 'cost€', 'a\nb', 'a\u2028b', 'a\u2029b', 'a\tb']) {
      expect(isManagedByValue(bad)).toBe(false);
    }
  });
});

describe('one rule for the Lambdas and the CLI', () => {
  const configWith = (name: 'MANAGED_PATH' | 'MANAGED_BY', value: string) => {
    try {
      parseConfig({ ...TEST_ENV, [name]: value });
      return true;
    } catch {
      return false;
    }
  };
  const text = fc.oneof(fc.string({ maxLength: 300 }), fc.stringMatching(/^[/a-z #\u2028-]{0,20}$/), fc.string({ unit: 'grapheme', maxLength: 30 }));

  it('a managed path the CLI takes is one a Lambda takes, and the other way round', () => {
    fc.assert(fc.property(text, (value) => {
      expect(configWith('MANAGED_PATH', value)).toBe(isIamPath(value));
    }));
  });

  it('a managed-by value the CLI takes is one a Lambda takes, and the other way round', () => {
    fc.assert(fc.property(text, (value) => {
      expect(configWith('MANAGED_BY', value)).toBe(isManagedByValue(value));
    }));
  });
});
