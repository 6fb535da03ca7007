import { describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { hasRedisServerBinary } from '../../scripts/lib/redis-server.js';

// The soak starts and crashes a redis-server of its own; without the binary it cannot run.
const describeWithRedisBinary = hasRedisServerBinary ? describe : describe.skip;

/** Runs the soak as a user would (it starts its own Redis and service from dist/, built by globalSetup). */
function runSoak(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/soak.ts', ...args], {
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

describeWithRedisBinary('scripts/soak.ts', () => {
  it('keeps every key to one charge through gateway failures, declines, retries and a Redis crash', async () => {
    const { code, stdout, stderr } = await runSoak(['--seconds', '10', '--rate', '40', '--json']);
    // The script's own report (violations, summary or setup error) is the diagnosis, so it is the message.
    if (code !== 0) throw new Error(`the soak exited with ${code}\n${stdout}\n${stderr}`);
    const result = JSON.parse(
      stdout
        .split('\n')
        .find((line) => line.startsWith('RESULT '))!
        .slice('RESULT '.length),
    );
    expect(result.ok).toBe(true);
    expect(result.violations).toEqual([]);
    expect(result.ledgerCharges).toBeGreaterThan(0);
    expect(result.keys).toBeGreaterThan(0);

    // The run is only a proof if it went through every path it is meant to exercise.
    const byStatus = result.counts.byStatus as Record<string, { total: number }>;
    expect(byStatus['402']?.total).toBeGreaterThanOrEqual(1);
    expect(byStatus['502']?.total).toBeGreaterThanOrEqual(1);
    expect(result.counts.replays).toBeGreaterThanOrEqual(1);
    expect(result.redisRestarts).toBe(1);
    expect(byStatus['503']?.total).toBeGreaterThanOrEqual(1);
  }, 60_000);
});
