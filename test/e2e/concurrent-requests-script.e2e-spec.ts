import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { setBehavior, startRedis } from '../support/payments-client.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

/** Runs the script as a user would, so it cannot rot unnoticed. */
function runScript(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/concurrent-requests.ts', ...args], {
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('scripts/concurrent-requests.ts', () => {
  let redis: Awaited<ReturnType<typeof startRedis>>;
  let service: TestApp;

  beforeAll(async () => {
    redis = await startRedis();
    service = await startTestApp(redis.url);
    await setBehavior(service.baseUrl, { minDelayMs: 300, maxDelayMs: 300 });
  });

  afterAll(async () => {
    await service?.close();
    await redis?.stop();
  });

  it('proves one charge for 40 concurrent requests and an all-replay retry storm', async () => {
    const { code, stdout, stderr } = await runScript(['--url', service.baseUrl, '--requests', '40', '--concurrency', '40', '--json']);
    expect(stderr).toContain('40/40');
    expect(code).toBe(0);
    const result = JSON.parse(stdout.split('\n').find((line) => line.startsWith('RESULT '))!.slice('RESULT '.length));
    expect(result.ok).toBe(true);
    expect(result.ledgerCount).toBe(1);
    expect(result.phases.concurrent.chargeIds).toHaveLength(1);
    expect(result.phases.storm.replays).toBe(40);
  });

  it('exits 2 when the service cannot be reached', async () => {
    const { code } = await runScript(['--url', 'http://127.0.0.1:1', '--requests', '2']);
    expect(code).toBe(2);
  });
});
