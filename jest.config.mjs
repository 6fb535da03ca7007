/** ESM + ts-jest: NestJS 12 is ESM-only, so tests run as ES modules (NODE_OPTIONS=--experimental-vm-modules). */
export default {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.spec.ts', '**/*.e2e-spec.ts'],
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }] },
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  globalSetup: '<rootDir>/test/support/build-once.ts',
  setupFilesAfterEnv: ['<rootDir>/test/support/stop-processes.ts'],
  testTimeout: 60_000,
  maxWorkers: 2,
};
