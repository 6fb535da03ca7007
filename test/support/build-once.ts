import { execFileSync } from 'node:child_process';

/**
 * jest globalSetup: tests that crash the service run the built app (node dist/main.js), so it is
 * built from the current sources once per run.
 */
export default function buildOnce(): void {
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
}
