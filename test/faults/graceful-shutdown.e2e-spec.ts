import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import request from 'supertest';
import { describeWithRedisBinary } from '../support/redis.js';
import { charge, expectReplayOf, ledgerCount, newKey, setBehavior } from '../support/payments-client.js';
import { useServiceProcess } from '../support/service-process.js';
import { waitFor } from '../support/wait-for.js';

const SLOW_CHARGE_MS = 2000;
const DRAIN_MS = 3000;

describeWithRedisBinary('graceful shutdown on SIGTERM: the close, without a drain', () => {
  const running = useServiceProcess({ SHUTDOWN_DRAIN_MS: '0', SHUTDOWN_TIMEOUT_MS: '10000', LOG_LEVEL: 'log' });
  let client: Redis;

  beforeAll(() => {
    client = new Redis(running.redis.url);
  });

  afterAll(() => {
    client?.disconnect();
  });

  it('finishes the charge in flight, stores its outcome, releases its lock and refuses new requests', async () => {
    const { service } = running;
    await setBehavior(service.baseUrl, { minDelayMs: SLOW_CHARGE_MS, maxDelayMs: SLOW_CHARGE_MS });
    const key = newKey('in-flight');
    const inFlight = charge(service.baseUrl, key).then((response) => response);
    await waitFor('the charge is in flight', async () => (await ledgerCount(service.baseUrl, key)) === 1);

    const stopped = service.stop();
    // A request sent before the process has handled SIGTERM is an ordinary request: wait until it refuses.
    await waitFor('the service to refuse new requests', () => Promise.resolve(service.logs.includes('Shutting down: refusing new requests')));
    const sentDuringShutdown = Date.now();
    const late = await charge(service.baseUrl, newKey('late')).then(
      (response) => ({ status: response.status, cached: response.headers['idempotency-cached'] }),
      () => ({ status: 'connection refused', cached: undefined }),
    );
    const answered = await inFlight;
    await stopped;

    // The request in flight completed normally, after the shutdown began.
    expect(answered.status).toBe(201);
    expect(Date.now() - sentDuringShutdown).toBeLessThan(SLOW_CHARGE_MS + 5000);
    // A request arriving meanwhile was turned away without running (503) or could not connect.
    expect([503, 'connection refused']).toContain(late.status);
    // Still a response of the idempotent route, answered before the layer ran (CONTRACT section 2).
    if (late.status === 503) expect(late.cached).toBe('false');
    // Nothing left behind: no lock, and the outcome is stored.
    expect(await client.keys('idempotency:*:lock')).toEqual([]);
    expect(service.logs).toContain('Shutting down');

    await service.restart();
    await setBehavior(service.baseUrl, { minDelayMs: 0, maxDelayMs: 0 });
    await expectReplayOf(service.baseUrl, key, answered);
  });
});

describeWithRedisBinary('graceful shutdown on SIGTERM: the drain before the close', () => {
  const running = useServiceProcess({ SHUTDOWN_DRAIN_MS: String(DRAIN_MS), LOG_LEVEL: 'log' });

  it('answers readiness 503 at once, serves new requests for SHUTDOWN_DRAIN_MS, then refuses them', async () => {
    const { service } = running;
    const readiness = () => request(service.baseUrl).get('/health/ready');
    expect((await readiness()).status).toBe(200);

    const stopped = service.stop();
    const signalled = Date.now();
    await waitFor('readiness answers 503', async () => (await readiness()).status === 503, 1000);
    const notReady = await readiness();
    expect(notReady.body).toMatchObject({ status: 503, code: 'NOT_READY', checks: { instance: { status: 'down', shuttingDown: true } } });

    // Meanwhile the instance still does its work: a new charge runs and is stored.
    const key = newKey('during-drain');
    const duringDrain = await charge(service.baseUrl, key);
    expect(duringDrain.status).toBe(201);
    expect(duringDrain.headers['idempotency-cached']).toBe('false');
    expect(Date.now() - signalled).toBeLessThan(DRAIN_MS);

    // Once the drain is over, the close refuses new requests (or the listener is already gone).
    const refused = async () => {
      const status = await request(service.baseUrl)
        .get('/api/orders')
        .then(
          (response) => response.status,
          () => 'connection refused',
        );
      return status === 503 || status === 'connection refused';
    };
    await waitFor('new requests are refused', refused, DRAIN_MS + 5000);
    expect(Date.now() - signalled).toBeGreaterThanOrEqual(DRAIN_MS);
    await stopped;
    expect(service.logs).toContain(`still serving for ${DRAIN_MS} ms (drain)`);

    await service.restart();
    await expectReplayOf(service.baseUrl, key, duringDrain);
  });
});
