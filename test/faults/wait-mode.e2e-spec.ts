import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { charge, ledgerCount, newKey, setBehavior } from '../support/payments-client.js';
import { startRedis } from '../support/redis.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const DUPLICATES = 20;

async function fireConcurrently(baseUrl: string, key: string) {
  const started = Date.now();
  const responses = await Promise.all(Array.from({ length: DUPLICATES }, () => charge(baseUrl, key)));
  return { responses, elapsedMs: Date.now() - started };
}

describe('wait mode (IDEMPOTENCY_WAIT_MS)', () => {
  let redis: Awaited<ReturnType<typeof startRedis>>;

  beforeAll(async () => {
    redis = await startRedis();
  });

  afterAll(async () => {
    await redis?.stop();
  });

  describe('within the bound', () => {
    let service: TestApp;

    beforeAll(async () => {
      service = await startTestApp(redis.url, { IDEMPOTENCY_WAIT_MS: '5000' });
      await setBehavior(service.baseUrl, { minDelayMs: 500, maxDelayMs: 500 });
    });

    afterAll(async () => service?.close());

    it("gives every concurrent duplicate the first request's outcome, marked as a replay, and no 409", async () => {
      const key = newKey('wait');
      const { responses } = await fireConcurrently(service.baseUrl, key);
      expect(responses.map((response) => response.status)).toEqual(responses.map(() => 201));
      const fresh = responses.filter((response) => response.headers['idempotency-cached'] === 'false');
      const replays = responses.filter((response) => response.headers['idempotency-cached'] === 'true');
      expect(fresh).toHaveLength(1);
      expect(replays).toHaveLength(DUPLICATES - 1);
      for (const replay of replays) {
        expect(replay.text).toBe(fresh[0]!.text);
        expect(replay.headers['idempotent-replayed']).toBe('true');
        expect(replay.headers.location).toBe(fresh[0]!.headers.location);
      }
      expect(await ledgerCount(service.baseUrl, key)).toBe(1);
    });
  });

  describe('past the bound', () => {
    let service: TestApp;
    const waitMs = 300;
    const operationMs = 2000;

    beforeAll(async () => {
      service = await startTestApp(redis.url, { IDEMPOTENCY_WAIT_MS: String(waitMs) });
      await setBehavior(service.baseUrl, { minDelayMs: operationMs, maxDelayMs: operationMs });
    });

    afterAll(async () => service?.close());

    it('answers 409 once a duplicate has waited as long as configured', async () => {
      const key = newKey('wait-bound');
      const started = Date.now();
      const responses = await Promise.all(
        Array.from({ length: DUPLICATES }, () => charge(service.baseUrl, key).then((response) => ({ response, answeredAfter: Date.now() - started }))),
      );
      const conflicts = responses.filter(({ response }) => response.status === 409);
      expect(responses.filter(({ response }) => response.status === 201)).toHaveLength(1);
      expect(conflicts).toHaveLength(DUPLICATES - 1);
      for (const { response, answeredAfter } of conflicts) {
        expect(response.body.code).toBe('REQUEST_IN_PROGRESS');
        expect(answeredAfter).toBeGreaterThanOrEqual(waitMs - 50);
        expect(answeredAfter).toBeLessThan(operationMs);
      }
      expect(await ledgerCount(service.baseUrl, key)).toBe(1);
    });
  });
});
