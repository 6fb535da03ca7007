import { expect, it } from '@jest/globals';
import { describeWithRedisBinary } from '../support/redis.js';
import { runScript } from '../support/run-script.js';

describeWithRedisBinary('scripts/soak.ts', () => {
  it('keeps every key to one charge through gateway failures, declines, retries and a Redis crash', async () => {
    // It starts its own Redis and service from dist/, built by globalSetup.
    const { code, stdout, stderr, result } = await runScript('scripts/soak.ts', ['--seconds', '10', '--rate', '40', '--json']);
    // The script's own report (violations, summary or setup error) is the diagnosis, so it is the message.
    if (code !== 0 || !result) throw new Error(`the soak exited with ${code}\n${stdout}\n${stderr}`);
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
