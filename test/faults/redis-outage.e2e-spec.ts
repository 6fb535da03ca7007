import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import request from 'supertest';
import { RedisServer } from '../../tools/process/index.js';
import { describeWithRedisBinary } from '../support/redis.js';
import { charge, ledgerCount, newKey } from '../support/payments-client.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { waitFor } from '../support/wait-for.js';

const COMMAND_TIMEOUT_MS = 500;

interface Sent {
  key: string;
  sentAt: number;
  status: number;
  code?: string;
  latencyMs: number;
}

/** Fresh-key charges every 20 ms until stopped: the traffic the outage hits. */
function startTraffic(baseUrl: string): { stop(): Promise<Sent[]> } {
  const sent: Array<Promise<Sent>> = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const key = newKey('flow');
      const sentAt = Date.now();
      sent.push(charge(baseUrl, key).then((response) => ({ key, sentAt, status: response.status, code: response.body.code, latencyMs: Date.now() - sentAt })));
      await sleep(20);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return Promise.all(sent);
    },
  };
}

describeWithRedisBinary('Redis goes down and comes back while requests flow', () => {
  let redis: RedisServer;
  let service: TestApp;

  beforeAll(async () => {
    // No AOF: Redis comes back empty; what was stored before the outage is in PostgreSQL (the tiered store's durable side).
    redis = await RedisServer.start();
    service = await startTestApp(redis.url, { REDIS_COMMAND_TIMEOUT_MS: String(COMMAND_TIMEOUT_MS) });
  });

  afterAll(async () => {
    await service?.close();
    await redis?.stop();
  });

  it('fails closed with quick 503s and no charge, then serves again without a restart; stored outcomes still replay from an emptied Redis', async () => {
    const storedKey = newKey('before-outage');
    const first = await charge(service.baseUrl, storedKey).expect(201);

    const traffic = startTraffic(service.baseUrl);
    await sleep(300);
    await redis.crash();
    const downSince = Date.now();
    expect((await charge(service.baseUrl, storedKey)).status).toBe(503);
    const notReady = await request(service.baseUrl).get('/health/ready');
    expect(notReady.status).toBe(503);
    expect(notReady.body).toMatchObject({ code: 'NOT_READY', checks: { redis: { status: 'down' } } });
    // Liveness stays up: a Redis outage is no reason to restart the process.
    expect((await request(service.baseUrl).get('/health')).status).toBe(200);
    await sleep(1500);
    const upSince = Date.now();
    await redis.restart();
    await waitFor('the service reaches Redis again', async () => (await request(service.baseUrl).get('/health/ready')).status === 200);
    await sleep(300);
    const results = await traffic.stop();

    // Bounded: nothing hangs while Redis is gone.
    expect(Math.max(...results.map((result) => result.latencyMs))).toBeLessThan(4 * COMMAND_TIMEOUT_MS);
    expect(new Set(results.map((result) => result.status))).toEqual(new Set([201, 503]));
    const duringOutage = results.filter((result) => result.sentAt > downSince && result.sentAt + result.latencyMs < upSince);
    expect(duringOutage.length).toBeGreaterThan(10);
    for (const result of duringOutage) {
      expect(result).toMatchObject({ status: 503, code: 'IDEMPOTENCY_STORE_UNAVAILABLE' });
    }
    // No gateway call for any request refused during the outage (the gateway's ledger is in PostgreSQL).
    expect(await ledgerCount(service.baseUrl, storedKey)).toBe(1);
    for (const result of duringOutage) {
      expect(await ledgerCount(service.baseUrl, result.key)).toBe(0);
    }
    // The same process serves again: traffic after the restart succeeded.
    expect(results.filter((result) => result.sentAt > upSince).some((result) => result.status === 201)).toBe(true);

    const replay = await charge(service.baseUrl, storedKey);
    expect(replay.status).toBe(201);
    expect(replay.headers['idempotency-cached']).toBe('true');
    expect(replay.text).toBe(first.text);

    // A refused key was left free: it runs now, once.
    const refused = duringOutage[0]!.key;
    const retried = await charge(service.baseUrl, refused);
    expect(retried.status).toBe(201);
    expect(retried.headers['idempotency-cached']).toBe('false');
    expect(await ledgerCount(service.baseUrl, refused)).toBe(1);
  });
});
