import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Post, Res } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { RedisServer } from '../../../tools/process/index.js';
import { Idempotent } from '../src/index.js';
import { ADAPTERS, reconnected, startFixtureApp, type FixtureApp, type StoreKind } from './fixture/fixture-app.js';
import { newKey, send, type Answer } from './http-client.js';

const PROBLEM = 'application/problem+json; charset=utf-8';
const ERROR_TTL_MS = 400;

function expectProblem(answer: Answer, status: number, code: string): void {
  expect(answer.status).toBe(status);
  expect(answer.headers['content-type']).toBe(PROBLEM);
  expect(answer.json).toMatchObject({ type: `urn:problem-type:${code.toLowerCase().replaceAll('_', '-')}`, status, code });
  expect(answer.headers['idempotency-cached']).toBe('false');
}

/** Every case of CONTRACT section 2, on each adapter with each store, as @nestjs/throttler runs its e2e. */
describe.each(ADAPTERS)('on %s', (_adapterName, adapter) => {
  describe.each<StoreKind>(['memory', 'redis'])('with the %s store', (storeKind) => {
    let redis: RedisServer | undefined;
    let fixture: FixtureApp;
    const storeOf = () => ({ kind: storeKind, redisUrl: redis?.url });

    beforeAll(async () => {
      if (storeKind === 'redis') redis = await RedisServer.start();
      fixture = await startFixtureApp(adapter, storeOf(), { errorTtlMs: ERROR_TTL_MS });
    });

    afterAll(async () => {
      await fixture?.close();
      await redis?.stop();
    });

    it('runs once and replays status, body, Content-Type and the allowed headers byte for byte', async () => {
      const key = newKey();
      const before = fixture.controller.executions;
      const first = await send(fixture.url, '/things', { key, body: { a: 1 } });
      expect(first.status).toBe(201);
      expect(first.headers['idempotency-cached']).toBe('false');
      expect(first.headers['idempotent-replayed']).toBeUndefined();
      expect(first.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(first.headers.location).toBe(`/things/${first.json.id}`);
      expect(first.json).toEqual({ id: before + 1, body: { a: 1 } });

      const replay = await send(fixture.url, '/things', { key, body: { a: 1 } });
      expect(replay.status).toBe(201);
      expect(replay.text).toBe(first.text);
      expect(replay.headers['content-type']).toBe(first.headers['content-type']);
      expect(replay.headers.location).toBe(first.headers.location);
      expect(replay.headers['idempotency-cached']).toBe('true');
      expect(replay.headers['idempotent-replayed']).toBe('true');
      expect(replay.headers['set-cookie']).toBeUndefined();
      expect(fixture.controller.executions).toBe(before + 1);
    });

    it('replays a header set with @Header() on a handler that returns its value', async () => {
      const key = newKey();
      const first = await send(fixture.url, '/things', { method: 'PUT', key });
      const replay = await send(fixture.url, '/things', { method: 'PUT', key });
      expect(first.status).toBe(200);
      expect(first.headers.etag).toBe('"v1"');
      expect(replay.headers.etag).toBe('"v1"');
      expect(replay.headers['idempotency-cached']).toBe('true');
      expect(replay.text).toBe(first.text);
    });

    it('takes a quoted key (structured-field string) and its bare form as the same key', async () => {
      const key = newKey();
      const first = await send(fixture.url, '/things', { key: `"${key}"` });
      const replay = await send(fixture.url, '/things', { key });
      expect(replay.headers['idempotency-cached']).toBe('true');
      expect(replay.text).toBe(first.text);
    });

    it('answers 400 problems for a missing, malformed or repeated key, and runs nothing', async () => {
      const before = fixture.controller.executions;
      expectProblem(await send(fixture.url, '/things'), 400, 'IDEMPOTENCY_KEY_MISSING');
      expectProblem(await send(fixture.url, '/things', { key: 'has space' }), 400, 'IDEMPOTENCY_KEY_INVALID');
      expectProblem(await send(fixture.url, '/things', { key: 'x'.repeat(256) }), 400, 'IDEMPOTENCY_KEY_INVALID');
      const repeated = await send(fixture.url, '/things', { key: [newKey(), newKey()] });
      expectProblem(repeated, 400, 'IDEMPOTENCY_KEY_INVALID');
      expect(repeated.json.detail).toContain('once');
      expect(fixture.controller.executions).toBe(before);
    });

    it('answers 422 for the same key with another body, without running', async () => {
      const key = newKey();
      await send(fixture.url, '/things', { key, body: { amount: 1 } });
      const before = fixture.controller.executions;
      const reused = await send(fixture.url, '/things', { key, body: { amount: 2 } });
      expectProblem(reused, 422, 'IDEMPOTENCY_KEY_REUSED');
      expect(fixture.controller.executions).toBe(before);
    });

    it('fingerprints the canonical body: the same data in another key order is the same request', async () => {
      const key = newKey();
      const first = await send(fixture.url, '/things', { key, body: { a: 1, b: { c: 2, d: 3 } } });
      const replay = await send(fixture.url, '/things', { key, body: { b: { d: 3, c: 2 }, a: 1 } });
      expect(replay.headers['idempotency-cached']).toBe('true');
      expect(replay.text).toBe(first.text);
    });

    it('answers 409 with Retry-After while the first request runs, then replays its outcome', async () => {
      const key = newKey();
      fixture.controller.slowMs = 400;
      const first = send(fixture.url, '/things/slow', { key });
      await sleep(100);
      const duplicate = await send(fixture.url, '/things/slow', { key });
      expectProblem(duplicate, 409, 'REQUEST_IN_PROGRESS');
      expect(duplicate.headers['retry-after']).toBe('1');
      const firstAnswer = await first;
      expect(firstAnswer.status).toBe(201);
      const replay = await send(fixture.url, '/things/slow', { key });
      expect(replay.headers['idempotency-cached']).toBe('true');
      expect(replay.text).toBe(firstAnswer.text);
    });

    it('scopes a key by principal, method and route, never by query string', async () => {
      const key = newKey();
      const before = fixture.controller.executions;
      const alice = await send(fixture.url, '/things', { key, headers: { 'x-user': 'alice' } });
      const bob = await send(fixture.url, '/things', { key, headers: { 'x-user': 'bob' } });
      const anonymous = await send(fixture.url, '/things', { key });
      const otherMethod = await send(fixture.url, '/things', { method: 'PUT', key });
      const otherRoute = await send(fixture.url, '/things/other', { key });
      for (const fresh of [alice, bob, anonymous, otherMethod, otherRoute]) expect(fresh.headers['idempotency-cached']).toBe('false');
      expect(fixture.controller.executions).toBe(before + 5);

      const aliceAgain = await send(fixture.url, '/things?page=2', { key, headers: { 'x-user': 'alice' } });
      expect(aliceAgain.headers['idempotency-cached']).toBe('true');
      expect(aliceAgain.text).toBe(alice.text);
      expect(fixture.controller.executions).toBe(before + 5);
    });

    it('stores a definitive error (402) for the result TTL and replays it', async () => {
      const key = newKey();
      const before = fixture.controller.executions;
      const first = await send(fixture.url, '/things/decline', { key });
      expectProblem(first, 402, 'PAYMENT_REQUIRED');
      await sleep(ERROR_TTL_MS + 100);
      const replay = await send(fixture.url, '/things/decline', { key });
      expect(replay.status).toBe(402);
      expect(replay.text).toBe(first.text);
      expect(replay.headers['idempotency-cached']).toBe('true');
      expect(fixture.controller.executions).toBe(before + 1);
    });

    it('stores a transient error (500) for the error TTL only, without its internal message; then the key runs again', async () => {
      const key = newKey();
      const before = fixture.controller.executions;
      const first = await send(fixture.url, '/things/fail', { key });
      expectProblem(first, 500, 'INTERNAL_ERROR');
      expect(first.text).not.toContain('hunter2');
      const replay = await send(fixture.url, '/things/fail', { key });
      expect(replay.text).toBe(first.text);
      expect(replay.headers['idempotency-cached']).toBe('true');
      expect(fixture.controller.executions).toBe(before + 1);
      await sleep(ERROR_TTL_MS + 100);
      const rerun = await send(fixture.url, '/things/fail', { key });
      expect(rerun.headers['idempotency-cached']).toBe('false');
      expect(fixture.controller.executions).toBe(before + 2);
    });

    it('leaves the key free after a validation error, so the corrected request runs', async () => {
      const key = newKey();
      const invalid = await send(fixture.url, '/things/validated', { key, body: { amount: 'ten' } });
      expect(invalid.status).toBe(400);
      expect(invalid.headers['idempotency-cached']).toBe('false');
      const corrected = await send(fixture.url, '/things/validated', { key, body: { amount: 10 } });
      expect(corrected.status).toBe(201);
      expect(corrected.json.amount).toBe(10);
    });

    it("marks answers given before the interceptor runs (a guard's 401) with Idempotency-Cached: false", async () => {
      const refused = await send(fixture.url, '/things', { key: newKey(), headers: { 'x-user': 'nobody' } });
      expect(refused.status).toBe(401);
      expect(refused.headers['idempotency-cached']).toBe('false');
    });

    it('runs a route whose key is optional every time when no key is sent', async () => {
      const before = fixture.controller.executions;
      const first = await send(fixture.url, '/things/optional');
      const second = await send(fixture.url, '/things/optional');
      expect([first.status, second.status]).toEqual([201, 201]);
      expect(second.headers['idempotency-cached']).toBe('false');
      expect(fixture.controller.executions).toBe(before + 2);
    });

    describe('in wait mode', () => {
      let waiting: FixtureApp;
      beforeAll(async () => {
        waiting = await startFixtureApp(adapter, storeOf(), { waitTimeoutMs: 600 });
      });
      afterAll(() => waiting?.close());

      it('gives a duplicate the outcome once the first finishes within the bound, as a replay', async () => {
        const key = newKey();
        waiting.controller.slowMs = 300;
        const first = send(waiting.url, '/things/slow', { key });
        await sleep(50);
        const duplicate = await send(waiting.url, '/things/slow', { key });
        expect(duplicate.status).toBe(201);
        expect(duplicate.headers['idempotency-cached']).toBe('true');
        expect(duplicate.text).toBe((await first).text);
      });

      it('answers 409 when the first runs past the bound', async () => {
        const key = newKey();
        waiting.controller.slowMs = 1500;
        const first = send(waiting.url, '/things/slow', { key });
        await sleep(50);
        expectProblem(await send(waiting.url, '/things/slow', { key }), 409, 'REQUEST_IN_PROGRESS');
        expect((await first).status).toBe(201);
      });
    });

    if (storeKind === 'redis') {
      it('extends the lock past its TTL while the operation runs: another instance gets 409 throughout', async () => {
        const lockTtlMs = 300;
        const [first, second] = await Promise.all([startFixtureApp(adapter, storeOf(), { lockTtlMs }), startFixtureApp(adapter, storeOf(), { lockTtlMs })]);
        try {
          first.controller.slowMs = 1200;
          const key = newKey();
          const running = send(first.url, '/things/slow', { key });
          await sleep(lockTtlMs * 3);
          expectProblem(await send(second.url, '/things/slow', { key }), 409, 'REQUEST_IN_PROGRESS');
          expect((await running).status).toBe(201);
          expect(first.controller.lockLostSeen).toBe(false);
          expect(second.controller.executions).toBe(0);
          expect((await send(second.url, '/things/slow', { key })).headers['idempotency-cached']).toBe('true');
        } finally {
          await Promise.all([first.close(), second.close()]);
        }
      });

      it('answers 503 with Retry-After and runs nothing while the store is unreachable', async () => {
        const before = fixture.controller.executions;
        await redis!.crash();
        try {
          const refused = await send(fixture.url, '/things', { key: newKey() });
          expectProblem(refused, 503, 'IDEMPOTENCY_STORE_UNAVAILABLE');
          expect(refused.headers['retry-after']).toBe('1');
          expect(fixture.controller.executions).toBe(before);
        } finally {
          await redis!.restart();
          await reconnected(fixture.redis!);
        }
      });
    }
  });

  it('refuses at start a handler that takes a plain @Res(), naming it', async () => {
    @Controller('raw')
    class RawResponseController {
      @Post()
      @Idempotent()
      create(@Res() response: { end(): void }): void {
        response.end();
      }
    }
    await expect(startFixtureApp(adapter, { kind: 'memory' }, {}, [RawResponseController])).rejects.toThrow(
      /RawResponseController\.create take @Res\(\) without passthrough/,
    );
  });
});
