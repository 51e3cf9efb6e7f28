// Two projects: `unit` runs pure tests with no cluster; `cluster` starts one local Kubernetes cluster for the
// whole run (global setup) and runs the integration and e2e tests against it, each file in its own namespace.
const transform = {
  '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }],
};
const common = {
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform,
  testEnvironment: 'node',
};

export default {
  // Cluster tests wait on real controllers; each wait has its own deadline, this is only the outer bound.
  testTimeout: 90_000,
  // Cluster test files mostly wait on controllers and the API server: two at a time overlap those waits.
  maxWorkers: 2,
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/operator/**/*.test.ts', '<rootDir>/client/**/*.test.ts', '<rootDir>/e2e/cluster/**/*.test.ts', '<rootDir>/e2e/chaos/**/*.test.ts', '<rootDir>/hack/**/*.test.ts', '<rootDir>/bench/**/*.test.ts'],
    },
    {
      ...common,
      displayName: 'cluster',
      testMatch: ['<rootDir>/test/**/*.test.ts', '<rootDir>/e2e/*.test.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.mjs',
      globalTeardown: '<rootDir>/test/support/global-teardown.mjs',
    },
  ],
};
