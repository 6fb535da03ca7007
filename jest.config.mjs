/** ESM + ts-jest: NestJS 12 is ESM-only, so tests run as ES modules (NODE_OPTIONS=--experimental-vm-modules). */
/**
 * On Node 20 jest cannot require(esm): content-disposition 3 (ESM-only, under @fastify/static, which
 * Swagger UI and the playground use on Fastify) is compiled to CommonJS. Node 24.9+ loads it as it is.
 */
const compileEsmOnlyDependencies = Number(process.versions.node.split('.')[0]) < 24;

const service = {
  displayName: 'service',
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.spec.ts', '**/*.e2e-spec.ts'],
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }],
    ...(compileEsmOnlyDependencies ? { '/content-disposition/.+\\.js$': '<rootDir>/test/support/esm-to-cjs.cjs' } : {}),
  },
  ...(compileEsmOnlyDependencies ? { transformIgnorePatterns: ['/node_modules/(?!(@fastify/static/node_modules/)?content-disposition/)'] } : {}),
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  // Whatever a test file left running is stopped after it (a project option: ignored at the top level with projects).
  setupFilesAfterEnv: ['<rootDir>/test/support/stop-processes.ts'],
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
  globalSetup: '<rootDir>/test/support/build-once.mjs',
  testTimeout: 60_000,
  maxWorkers: 2,
};
