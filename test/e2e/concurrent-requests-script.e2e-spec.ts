import { beforeAll, describe, expect, it } from '@jest/globals';
import { setBehavior } from '../support/payments-client.js';
import { runScript } from '../support/run-script.js';
import { useTestApp } from '../support/test-app.js';

const SCRIPT = 'scripts/concurrent-requests.ts';

describe(SCRIPT, () => {
  const service = useTestApp();

  beforeAll(async () => {
    await setBehavior(service.baseUrl, { minDelayMs: 300, maxDelayMs: 300 });
  });

  it('proves one charge for 40 concurrent requests and an all-replay retry storm', async () => {
    const { code, stderr, result } = await runScript(SCRIPT, ['--url', service.baseUrl, '--requests', '40', '--concurrency', '40', '--json']);
    expect(stderr).toContain('40/40');
    expect(code).toBe(0);
    expect(result!.ok).toBe(true);
    expect(result!.ledgerCount).toBe(1);
    expect(result!.phases.concurrent.chargeIds).toHaveLength(1);
    expect(result!.phases.storm.replays).toBe(40);
  });

  it('exits 2 when the service cannot be reached', async () => {
    const { code } = await runScript(SCRIPT, ['--url', 'http://127.0.0.1:1', '--requests', '2']);
    expect(code).toBe(2);
  });
});
