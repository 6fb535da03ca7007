/**
 * jest globalSetup: tests that crash the service run the built app (node dist/main.js), so it is
 * built from the current sources once per run, through the process harness (TypeScript, loaded
 * with tsx: jest does not transform a global setup's imports).
 */
import { tsImport } from 'tsx/esm/api';

const { runToExit } = await tsImport('../../tools/process/index.ts', import.meta.url);

export default async function buildOnce() {
  const build = await runToExit(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { name: 'tsc (build once)' });
  if (build.code !== 0) throw new Error(`building dist/ for the tests failed (exit ${build.code}):\n${build.stdout}${build.stderr}`);
}
