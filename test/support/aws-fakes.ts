// The fakes live in testing/, where the benchmarks can use them too (they must not import test/).
export * from '../../testing/aws-fakes.ts';
