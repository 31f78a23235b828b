// aws-local-stepfunctions uses Promise.withResolvers, which node 20 lacks.
import '../../local/polyfills.ts';
// toHaveReceivedCommand* matchers for aws-sdk-client-mock stubs.
import 'aws-sdk-client-mock-vitest/extend';
