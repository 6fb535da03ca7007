/**
 * jest globalSetup: tests that crash the service run the built app (node dist/main.js), so it is
 * built from the current sources once per run, through the process harness (TypeScript, loaded
 * with tsx: jest does not transform a global setup's imports).
 */
import { tsImport } from 'tsx/esm/api';

const { runToSuccess } = await tsImport('../harness/index.ts', import.meta.url);

export default async function buildOnce() {
  await runToSuccess(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { name: 'tsc (building dist/ for the tests)' });
}
