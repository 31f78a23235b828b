import { describe, expect, it } from 'vitest';
import { allowStatements, iamWriteFindings, type Template } from '../support/template.ts';

const everything = { PolicyDocument: { Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] } };
const MANAGED_USERS = 'arn:${AWS::Partition}:iam::${AWS::AccountId}:user/onboarding/*';

describe('policy documents of a template', () => {
  it('counts a managed policy given to no one as a boundary, which grants nothing', () => {
    const template: Template = { Resources: { Boundary: { Type: 'AWS::IAM::ManagedPolicy', Properties: everything } } };

    expect(allowStatements(template, 'any')).toEqual([]);
    expect(allowStatements(template)).toEqual([]);
    expect(allowStatements(template, 'boundary')).toHaveLength(1);
  });

  it.each([
    ['attached to a role by the policy', { Boundary: { Type: 'AWS::IAM::ManagedPolicy', Properties: { ...everything, Roles: [{ Ref: 'Role' }] } } }],
    [
      'attached by the role',
      {
        Boundary: { Type: 'AWS::IAM::ManagedPolicy', Properties: everything },
        Role: { Type: 'AWS::IAM::Role', Properties: { ManagedPolicyArns: [{ Ref: 'Boundary' }] } },
      },
    ],
  ])('counts a managed policy %s as a grant', (_case, resources) => {
    expect(allowStatements({ Resources: resources }, 'any')).toEqual([expect.objectContaining({ where: 'Boundary', kind: 'identity' })]);
  });

  it('lets group membership act on the managed users and on groups, any or named, and nothing else', () => {
    const role = (Resource: unknown[]): Template => ({
      Resources: {
        Role: {
          Type: 'AWS::IAM::Role',
          Properties: { Policies: [{ PolicyName: 'p', PolicyDocument: { Statement: [{ Effect: 'Allow', Action: ['iam:AddUserToGroup'], Resource }] } }] },
        },
      },
    });
    const group = (name: string) => ({ 'Fn::Sub': `arn:\${AWS::Partition}:iam::\${AWS::AccountId}:group/${name}` });

    expect(iamWriteFindings(role([group('developers'), group('*/developers'), group('*'), { 'Fn::Sub': MANAGED_USERS }]), MANAGED_USERS)).toEqual([]);
    expect(iamWriteFindings(role([group('developers'), { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:user/*' }]), MANAGED_USERS)).toEqual([
      'Role/p lets iam:AddUserToGroup act on arn:${AWS::Partition}:iam::${AWS::AccountId}:user/*',
      'Role/p does not name the managed users',
    ]);
  });
});
