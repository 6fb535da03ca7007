import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { RedisServer, ServiceProcess } from '../harness/index.js';
import { fileDatabaseUrl } from '../support/database.js';
import { fileBrokerUrl } from '../support/broker.js';
import { describeWithRedisBinary } from '../support/redis.js';
import { runScript } from '../support/run-script.js';

describeWithRedisBinary('three service processes sharing one Redis and one database', () => {
  let redis: RedisServer;
  let services: ServiceProcess[] = [];

  beforeAll(async () => {
    redis = await RedisServer.start();
    // A generous command timeout: 1,000 requests at once on two cores is a load test of charging, not of latency.
    const env = {
      REDIS_URL: redis.url,
      DATABASE_URL: await fileDatabaseUrl(),
      BROKER_URL: await fileBrokerUrl(),
      GATEWAY_MIN_DELAY_MS: '300',
      GATEWAY_MAX_DELAY_MS: '300',
      RATE_LIMIT_MAX: '0',
      REDIS_COMMAND_TIMEOUT_MS: '5000',
    };
    services = await Promise.all([1, 2, 3].map(() => ServiceProcess.start(env)));
  });

  afterAll(async () => {
    await Promise.all(services.map((service) => service.crash()));
    await redis?.stop();
  });

  const urls = () => services.flatMap((service) => ['--url', service.baseUrl]);

  it.each([300, 1000])('charge once for %i concurrent requests with one key spread over them', async (requests) => {
    const run = await runScript('scripts/concurrent-requests.ts', [...urls(), '--requests', String(requests), '--concurrency', String(requests), '--json']);
    expect(run.result).toBeDefined();
    expect(run.result!.failures).toEqual([]);
    expect(run.code).toBe(0);
    expect(run.result!.ledgerCount).toBe(1);
    expect(run.result!.phases.concurrent.chargeIds).toHaveLength(1);
    expect(run.result!.phases.storm.replays).toBe(requests);
  });
});
