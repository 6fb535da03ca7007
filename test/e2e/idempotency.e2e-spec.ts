import { describe, expect, it } from '@jest/globals';
import { Idempotent, fingerprintOf, toIdempotencyContext } from '@idempotent-payments/nestjs-idempotency';
import { recordKeys } from '@idempotent-payments/nestjs-idempotency/redis';
import { Controller, Post, Body } from '@nestjs/common';
import request from 'supertest';
import { orderIdFor } from '../../src/orders/orders.service.js';
import { CHARGE_PATH, charge, chargeRecordId, ledgerCount, newKey, setBehavior, validCharge } from '../support/payments-client.js';
import { useTestApp } from '../support/test-app.js';
import { waitFor } from '../support/wait-for.js';
import { expectProblem } from '../support/problem.js';
import { watchRedis, type RedisWatch } from '../support/redis.js';

const responseKey = (recordId: string) => recordKeys(recordId).response;
const lockKey = (recordId: string) => recordKeys(recordId).lock;

/** A second idempotent route, to show that a key is scoped by route. */
@Controller('echo')
class EchoController {
  @Post()
  @Idempotent()
  echo(@Body() body: unknown): unknown {
    return { echoed: body };
  }
}

const ERROR_TTL_SECONDS = 2;

describe('POST /api/payments/charge idempotency', () => {
  const service = useTestApp({ IDEMPOTENCY_ERROR_TTL_SECONDS: String(ERROR_TTL_SECONDS) }, { controllers: [EchoController] });

  const reset = () => setBehavior(service.baseUrl, { failureRate: 0, declineRate: 0, minDelayMs: 0, maxDelayMs: 0 });

  it('charges once and answers 201 with the charge, a Location and Idempotency-Cached: false', async () => {
    const key = newKey();
    const response = await charge(service.baseUrl, key);
    expect(response.status).toBe(201);
    expect(response.headers['idempotency-cached']).toBe('false');
    expect(response.headers['idempotent-replayed']).toBeUndefined();
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(response.body).toEqual({
      id: expect.stringMatching(/^ch_/),
      orderId: expect.stringMatching(/^ord_/),
      amount: 1999,
      currency: 'EUR',
      customerId: 'cus_123',
      status: 'succeeded',
      createdAt: expect.any(String),
    });
    expect(response.headers.location).toBe(`/api/payments/${response.body.id}`);
    expect(await ledgerCount(service.baseUrl, key)).toBe(1);
  });

  it('replays the first outcome byte for byte to a retry, without charging again', async () => {
    const key = newKey();
    const first = await charge(service.baseUrl, key);
    const retry = await charge(service.baseUrl, key);
    expect(retry.status).toBe(first.status);
    expect(retry.text).toBe(first.text);
    expect(retry.headers.location).toBe(first.headers.location);
    expect(retry.headers['content-type']).toBe(first.headers['content-type']);
    expect(retry.headers['idempotency-cached']).toBe('true');
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(await ledgerCount(service.baseUrl, key)).toBe(1);
  });

  it('treats the quoted (structured-field) and bare forms of a key as one key', async () => {
    const key = newKey();
    const first = await charge(service.baseUrl, `"${key}"`);
    const retry = await charge(service.baseUrl, key);
    expect(first.status).toBe(201);
    expect(retry.headers['idempotency-cached']).toBe('true');
    expect(retry.body.id).toBe(first.body.id);
  });

  it('refuses the same key with another body (422) and does not charge', async () => {
    const key = newKey();
    await charge(service.baseUrl, key).expect(201);
    const reused = await charge(service.baseUrl, key, validCharge({ amount: 5000 }));
    expectProblem(reused, 422, 'IDEMPOTENCY_KEY_REUSED');
    expect(await ledgerCount(service.baseUrl, key)).toBe(1);
  });

  it('sees the same body with keys in another order as the same request', async () => {
    const key = newKey();
    await charge(service.baseUrl, key, { amount: 10, currency: 'USD', customerId: 'c1' }).expect(201);
    const retry = await charge(service.baseUrl, key, { customerId: 'c1', currency: 'USD', amount: 10 });
    expect(retry.status).toBe(201);
    expect(retry.headers['idempotency-cached']).toBe('true');
  });

  it('answers 400 IDEMPOTENCY_KEY_MISSING without a key, and charges nothing', async () => {
    const before = (await request(service.baseUrl).get('/api/admin/provider/charges')).body.charges.length;
    const response = await charge(service.baseUrl, undefined);
    expectProblem(response, 400, 'IDEMPOTENCY_KEY_MISSING');
    expect(response.headers['idempotency-cached']).toBe('false');
    const after = (await request(service.baseUrl).get('/api/admin/provider/charges')).body.charges.length;
    expect(after).toBe(before);
  });

  it.each([
    ['a space', 'has space'],
    ['256 characters', 'k'.repeat(256)],
    ['an unterminated quote', '"abc'],
    ['an empty value', '""'],
  ])('answers 400 IDEMPOTENCY_KEY_INVALID for a key with %s', async (_case, key) => {
    const response = await charge(service.baseUrl, key);
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ code: 'IDEMPOTENCY_KEY_INVALID', status: 400 });
  });

  it('answers 400 IDEMPOTENCY_KEY_INVALID when the header is repeated', async () => {
    const key = newKey();
    const response = await request(service.baseUrl)
      .post(CHARGE_PATH)
      .set('Idempotency-Key', [key, key] as unknown as string)
      .send(validCharge());
    expectProblem(response, 400, 'IDEMPOTENCY_KEY_INVALID');
    expect(await ledgerCount(service.baseUrl, key)).toBe(0);
  });

  it('scopes a key by route: the same key on another idempotent route runs there too', async () => {
    const key = newKey();
    const paid = await charge(service.baseUrl, key);
    const echoed = await request(service.baseUrl).post('/api/echo').set('Idempotency-Key', key).send(validCharge());
    expect(paid.status).toBe(201);
    expect(echoed.status).toBe(201);
    expect(echoed.headers['idempotency-cached']).toBe('false');
    expect(echoed.body).toEqual({ echoed: validCharge() });
  });

  it('charges exactly once for 50 concurrent requests with one key; the others get 409 with Retry-After', async () => {
    await setBehavior(service.baseUrl, { minDelayMs: 400, maxDelayMs: 400 });
    try {
      const key = newKey('concurrent');
      const responses = await Promise.all(Array.from({ length: 50 }, () => charge(service.baseUrl, key)));
      const successes = responses.filter((response) => response.status === 201);
      const conflicts = responses.filter((response) => response.status === 409);
      expect(successes.length + conflicts.length).toBe(50);
      expect(successes.length).toBeGreaterThanOrEqual(1);
      expect(new Set(successes.map((response) => response.body.id)).size).toBe(1);
      for (const conflict of conflicts) {
        expect(conflict.body.code).toBe('REQUEST_IN_PROGRESS');
        expect(Number(conflict.headers['retry-after'])).toBeGreaterThan(0);
      }
      expect(await ledgerCount(service.baseUrl, key)).toBe(1);
    } finally {
      await reset();
    }
  });

  /** The commands that touch a record's keys from now on, as Redis' MONITOR reports them. */
  async function watchRecord(key: string): Promise<{ recordId: string; commands: string[][] } & RedisWatch> {
    const recordId = chargeRecordId(key);
    const commands: string[][] = [];
    const watch = await watchRedis(service.redis, (args) => {
      if (args.some((arg) => arg.includes(recordId))) commands.push(args);
    });
    return { recordId, commands, ...watch };
  }

  it('answers duplicates of a charge it is running itself with 409 without asking Redis', async () => {
    await setBehavior(service.baseUrl, { minDelayMs: 1000, maxDelayMs: 1000 });
    const key = newKey('local');
    const watch = await watchRecord(key);
    try {
      const first = charge(service.baseUrl, key).then((response) => response); // supertest sends on then()
      await waitFor('the first request to hold the lock', async () => (await service.redis.exists(lockKey(watch.recordId))) === 1);
      await watch.caughtUp();
      const before = watch.commands.length;
      const duplicates = await Promise.all(Array.from({ length: 20 }, () => charge(service.baseUrl, key)));
      for (const duplicate of duplicates) {
        expectProblem(duplicate, 409, 'REQUEST_IN_PROGRESS');
        expect(duplicate.headers['idempotency-cached']).toBe('false');
        expect(Number(duplicate.headers['retry-after'])).toBeGreaterThan(0);
        expect(duplicate.body).toEqual({
          type: 'urn:problem-type:request-in-progress',
          title: 'Conflict',
          status: 409,
          detail: expect.stringContaining('still in progress'),
          code: 'REQUEST_IN_PROGRESS',
        });
      }
      await watch.caughtUp();
      // Nothing for the 20 duplicates (EXISTS is this test's own probe).
      expect(watch.commands.slice(before).filter(([name]) => name !== 'exists')).toEqual([]);
      expect((await first).status).toBe(201);
      expect(await ledgerCount(service.baseUrl, key)).toBe(1);
      // Once the first has finished, the key is answered from Redis again: a replay.
      const retry = await charge(service.baseUrl, key);
      expect(retry.headers['idempotency-cached']).toBe('true');
    } finally {
      watch.stop();
      await reset();
    }
  });

  it('asks Redis once for a burst of duplicates on one instance: one begin, one complete', async () => {
    await setBehavior(service.baseUrl, { minDelayMs: 400, maxDelayMs: 400 });
    const key = newKey('burst');
    const watch = await watchRecord(key);
    const scriptsOnRecord = () =>
      watch.commands.filter(([name, ...args]) => name === 'evalsha' && args.includes(lockKey(watch.recordId))).map(([name]) => name);
    try {
      const responses = await Promise.all(Array.from({ length: 30 }, () => charge(service.baseUrl, key)));
      expect(responses.filter((response) => response.status === 201)).toHaveLength(1);
      expect(responses.filter((response) => response.status === 409)).toHaveLength(29);
      await waitFor('the lock is released', async () => (await service.redis.exists(lockKey(watch.recordId))) === 0);
      await watch.caughtUp();
      expect(scriptsOnRecord()).toEqual(['evalsha', 'evalsha']);
      expect(await ledgerCount(service.baseUrl, key)).toBe(1);
    } finally {
      watch.stop();
      await reset();
    }
  });

  it('stores a decline (402) as a result and replays it without calling the gateway again', async () => {
    const key = newKey();
    await setBehavior(service.baseUrl, { declineRate: 1 });
    try {
      const declined = await charge(service.baseUrl, key);
      expect(declined.status).toBe(402);
      expect(declined.body).toMatchObject({ code: 'CARD_DECLINED', status: 402 });
      // With declines off, a second gateway call would now succeed: a 402 proves there was none.
      await reset();
      const retry = await charge(service.baseUrl, key);
      expect(retry.status).toBe(402);
      expect(retry.text).toBe(declined.text);
      expect(retry.headers['idempotency-cached']).toBe('true');
      expect(await ledgerCount(service.baseUrl, key)).toBe(0);
      const order = await request(service.baseUrl).get(`/api/orders`).expect(200);
      expect(order.body.data.find((item: { idempotencyKey: string }) => item.idempotencyKey === key)).toMatchObject({ status: 'PAYMENT_FAILED' });
    } finally {
      await reset();
    }
  });

  it('stores a gateway failure (502) with the error TTL, then lets the same key resume the same order', async () => {
    const key = newKey();
    await setBehavior(service.baseUrl, { failureRate: 1 });
    try {
      const failed = await charge(service.baseUrl, key);
      expectProblem(failed, 502, 'PAYMENT_PROVIDER_UNAVAILABLE');
      const recordId = toIdempotencyContext({ principal: 'anonymous', method: 'POST', route: CHARGE_PATH, key }, fingerprintOf(validCharge())).recordId;
      const ttl = await service.redis.pttl(responseKey(recordId));
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(ERROR_TTL_SECONDS * 1000);

      await reset();
      const withinTtl = await charge(service.baseUrl, key);
      expect(withinTtl.status).toBe(502);
      expect(withinTtl.headers['idempotency-cached']).toBe('true');
      // The replay says when the stored error expires: the earliest a retry with the key runs again.
      expect(Number(withinTtl.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(Number(withinTtl.headers['retry-after'])).toBeLessThanOrEqual(ERROR_TTL_SECONDS);

      // Its copy in PostgreSQL, written first, expires before the one in Redis.
      await waitFor('the stored error has expired', async () => (await service.redis.exists(responseKey(recordId))) === 0, ERROR_TTL_SECONDS * 1000 + 5000);
      const afterTtl = await charge(service.baseUrl, key);
      expect(afterTtl.status).toBe(201);
      expect(afterTtl.headers['idempotency-cached']).toBe('false');
      // The same order as the failed attempt, not a second one.
      expect(afterTtl.body.orderId).toBe(orderIdFor(recordId));
      const orders = await request(service.baseUrl).get('/api/orders').query({ limit: 100 }).expect(200);
      expect(orders.body.data.filter((item: { idempotencyKey: string }) => item.idempotencyKey === key)).toHaveLength(1);
      const order = await request(service.baseUrl).get(`/api/orders/${afterTtl.body.orderId}`).expect(200);
      expect(order.body).toMatchObject({ status: 'PAID', idempotencyKey: key, payment: { chargeId: afterTtl.body.id } });
      expect(await ledgerCount(service.baseUrl, key)).toBe(1);
    } finally {
      await reset();
    }
  });

  it('stores a success with the result TTL', async () => {
    const key = newKey();
    await charge(service.baseUrl, key).expect(201);
    const recordId = toIdempotencyContext({ principal: 'anonymous', method: 'POST', route: CHARGE_PATH, key }, '').recordId;
    const ttl = await service.redis.pttl(responseKey(recordId));
    expect(ttl).toBeGreaterThan(service.config.IDEMPOTENCY_RESULT_TTL_SECONDS * 1000 - 60_000);
    expect(ttl).toBeLessThanOrEqual(service.config.IDEMPOTENCY_RESULT_TTL_SECONDS * 1000);
  });

  it('does not let a validation error occupy the key: the corrected body then succeeds', async () => {
    const key = newKey();
    const invalid = await charge(service.baseUrl, key, { amount: -5, currency: 'EURO', customerId: 'bad id!', extra: true });
    expectProblem(invalid, 400, 'VALIDATION_FAILED');
    const fields = (invalid.body.errors as Array<{ field: string }>).map((error) => error.field);
    expect(fields).toEqual(expect.arrayContaining(['amount', 'currency', 'customerId', 'extra']));
    expect(await ledgerCount(service.baseUrl, key)).toBe(0);

    const corrected = await charge(service.baseUrl, key);
    expect(corrected.status).toBe(201);
    expect(corrected.headers['idempotency-cached']).toBe('false');
  });

  it('writes only keys with an expiry to Redis: locks and hot copies, the business records being in PostgreSQL', async () => {
    // Outcomes of every kind of its own, whichever tests ran before: a success, a decline, a gateway failure.
    await charge(service.baseUrl, newKey('expiry')).expect(201);
    try {
      await setBehavior(service.baseUrl, { declineRate: 1 });
      await charge(service.baseUrl, newKey('expiry')).expect(402);
      await setBehavior(service.baseUrl, { declineRate: 0, failureRate: 1 });
      await charge(service.baseUrl, newKey('expiry')).expect(502);
    } finally {
      await reset();
    }
    const keys = await service.redis.keys('*');
    const withoutExpiry: string[] = [];
    for (const name of keys) {
      if ((await service.redis.pttl(name)) === -1) withoutExpiry.push(name);
    }
    expect(keys.some((name) => name.startsWith('idempotency:'))).toBe(true);
    expect(withoutExpiry).toEqual([]);
  });
});
