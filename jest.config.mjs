/** ESM + ts-jest: NestJS 12 is ESM-only, so tests run as ES modules (NODE_OPTIONS=--experimental-vm-modules). */
const service = {
  displayName: 'service',
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.spec.ts', '**/*.e2e-spec.ts'],
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }],
    '/content-disposition/.+\\.js$': '<rootDir>/test/support/esm-to-cjs.cjs',
  },
  transformIgnorePatterns: ['/node_modules/(?!(@fastify/static/node_modules/)?content-disposition/)'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
};

/** The suites that pin HTTP behaviour, again on Express (the service runs on Fastify by default). */
const serviceOnExpress = {
  ...service,
  displayName: 'service (express)',
  testMatch: ['**/test/e2e/{idempotency,api,auth,secrets,fuzz,webhooks}.e2e-spec.ts'],
  setupFiles: ['<rootDir>/test/support/on-express.ts'],
};

export default {
  // The service's suites, the HTTP ones on both adapters, and the idempotency package's own, in one run.
  projects: [service, serviceOnExpress, '<rootDir>/packages/nestjs-idempotency'],
  globalSetup: '<rootDir>/test/support/build-once.ts',
  setupFilesAfterEnv: ['<rootDir>/test/support/stop-processes.ts'],
  testTimeout: 60_000,
  maxWorkers: 2,
};
