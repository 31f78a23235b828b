// The Lambda environment lives in testing/, where the benchmarks can use it too (they must not import test/).
export * from '../../testing/lambda-env.ts';
