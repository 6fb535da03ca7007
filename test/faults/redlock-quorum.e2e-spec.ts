import { afterAll, beforeAll, beforeEach, expect, it } from '@jest/globals';
import request from 'supertest';
import { RedisServer } from '../harness/index.js';
import { describeWithRedisBinary } from '../support/redis.js';
import { charge, ledgerCount, newKey, setBehavior } from '../support/payments-client.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { expectProblem } from '../support/problem.js';
import { waitFor } from '../support/wait-for.js';

/** Concurrent same-key charges: the lock must still let exactly one through. */
async function chargeConcurrently(baseUrl: string, key: string, count: number) {
  return Promise.all(Array.from({ length: count }, () => charge(baseUrl, key)));
}

describeWithRedisBinary('the Redlock quorum over REDIS_LOCK_URLS', () => {
  let store: RedisServer;
  let lockNodes: RedisServer[];
  let service: TestApp;

  beforeAll(async () => {
    store = await RedisServer.start();
    lockNodes = await Promise.all([1, 2, 3].map(() => RedisServer.start()));
    service = await startTestApp(store.url, {
      REDIS_LOCK_URLS: lockNodes.map((node) => node.url).join(','),
      REDIS_COMMAND_TIMEOUT_MS: '500',
    });
    await setBehavior(service.baseUrl, { minDelayMs: 300, maxDelayMs: 300 });
  });

  // Each test crashes the nodes it needs down; it starts with all three up and the service ready.
  beforeEach(async () => {
    for (const node of lockNodes.filter((candidate) => !candidate.isRunning)) await node.restart();
    await waitFor('the service to be ready on all lock nodes', async () => (await request(service.baseUrl).get('/health/ready')).status === 200);
  });

  afterAll(async () => {
    await service?.close();
    await Promise.all([store, ...(lockNodes ?? [])].map((node) => node?.stop()));
  });

  it('locks on every node while all three are up', async () => {
    const key = newKey('quorum-3');
    const responses = await chargeConcurrently(service.baseUrl, key, 10);
    expect(responses.filter((response) => response.status === 201)).toHaveLength(1);
    expect(responses.filter((response) => response.status === 409)).toHaveLength(9);
    expect(await ledgerCount(service.baseUrl, key)).toBe(1);
  });

  it('stays correct with one node of three down (2 of 3 is a quorum)', async () => {
    await lockNodes[0]!.crash();
    const key = newKey('quorum-2');
    const responses = await chargeConcurrently(service.baseUrl, key, 10);
    expect(responses.filter((response) => response.status === 201)).toHaveLength(1);
    expect(responses.filter((response) => response.status === 409)).toHaveLength(9);
    expect(await ledgerCount(service.baseUrl, key)).toBe(1);
    const replay = await charge(service.baseUrl, key);
    expect(replay.headers['idempotency-cached']).toBe('true');
    // Readiness reports the missing node.
    expect((await request(service.baseUrl).get('/health/ready')).status).toBe(503);
  });

  it('fails closed with 503 and no gateway call when two of three are down', async () => {
    await Promise.all([lockNodes[0]!.crash(), lockNodes[1]!.crash()]);
    const key = newKey('quorum-1');
    const started = Date.now();
    const refused = await charge(service.baseUrl, key);
    expect(Date.now() - started).toBeLessThan(2000);
    expectProblem(refused, 503, 'IDEMPOTENCY_STORE_UNAVAILABLE');
    expect(await ledgerCount(service.baseUrl, key)).toBe(0);
  });
});
