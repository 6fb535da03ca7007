import { afterAll, beforeAll, expect, it } from '@jest/globals';
import request from 'supertest';
import { RedisServer } from '../harness/index.js';
import { ledger } from '../support/charge-load.js';
import { describeWithRedisBinary } from '../support/redis.js';
import { charge, ledgerCount, newKey } from '../support/payments-client.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { waitFor } from '../support/wait-for.js';

const COMMAND_TIMEOUT_MS = 500;
/** Clients sending at once: some requests are in flight whenever Redis dies or comes back. */
const CLIENTS = 3;

interface Sent {
  key: string;
  sentAt: number;
  status: number;
  code?: string;
  latencyMs: number;
}

/** Fresh-key charges from CLIENTS clients, each sending its next once the last is answered, until stopped: the traffic the outage hits. */
function startTraffic(baseUrl: string): { readonly answered: readonly Sent[]; stop(): Promise<Sent[]> } {
  const answered: Sent[] = [];
  let running = true;
  const client = async () => {
    while (running) {
      const key = newKey('flow');
      const sentAt = Date.now();
      const response = await charge(baseUrl, key);
      answered.push({ key, sentAt, status: response.status, code: response.body.code, latencyMs: Date.now() - sentAt });
    }
  };
  const clients = Promise.all(Array.from({ length: CLIENTS }, client));
  return {
    answered,
    async stop() {
      running = false;
      await clients;
      return answered;
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
    const answeredSince = (since: number, status: number) => traffic.answered.filter((sent) => sent.sentAt > since && sent.status === status).length;
    await waitFor('the traffic is served', () => Promise.resolve(answeredSince(0, 201) >= 5));
    await redis.crash();
    const downSince = Date.now();
    expect((await charge(service.baseUrl, storedKey)).status).toBe(503);
    const notReady = await request(service.baseUrl).get('/health/ready');
    expect(notReady.status).toBe(503);
    expect(notReady.body).toMatchObject({ code: 'NOT_READY', checks: { redis: { status: 'down' } } });
    // Liveness stays up: a Redis outage is no reason to restart the process.
    expect((await request(service.baseUrl).get('/health')).status).toBe(200);
    await waitFor('the traffic sent during the outage is refused', () => Promise.resolve(answeredSince(downSince, 503) >= 10));
    const upSince = Date.now();
    await redis.restart();
    await waitFor('the service reaches Redis again', async () => (await request(service.baseUrl).get('/health/ready')).status === 200);
    // The same process serves again, without a restart.
    await waitFor('traffic sent after Redis came back is served', () => Promise.resolve(answeredSince(upSince, 201) >= 1));
    const results = await traffic.stop();

    // Bounded: nothing hangs while Redis is gone.
    expect(Math.max(...results.map((result) => result.latencyMs))).toBeLessThan(4 * COMMAND_TIMEOUT_MS);
    expect(new Set(results.map((result) => result.status))).toEqual(new Set([201, 503]));
    const duringOutage = results.filter((result) => result.sentAt > downSince && result.sentAt + result.latencyMs < upSince);
    for (const result of duringOutage) {
      expect(result).toMatchObject({ status: 503, code: 'IDEMPOTENCY_STORE_UNAVAILABLE' });
    }
    // No gateway call for any request refused during the outage (the gateway's ledger is in PostgreSQL).
    expect(await ledgerCount(service.baseUrl, storedKey)).toBe(1);
    const chargedKeys = new Set((await ledger(service.baseUrl)).map((entry) => entry.idempotencyKey));
    expect(duringOutage.map((result) => result.key).filter((key) => chargedKeys.has(key))).toEqual([]);

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
