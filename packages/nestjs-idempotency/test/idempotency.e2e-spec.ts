import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Redis } from 'ioredis';
import { resolve } from 'node:path';
import { ManagedProcess, PostgresServer, RedisServer, TestDatabase } from '../../../test/harness/index.js';
import { waitFor } from '../../../test/support/wait-for.js';
import { toIdempotencyContext, type IdempotencyStore } from '../src/index.js';
import { recordKeys } from '../src/storage/redis.index.js';
import { INTERNAL_MESSAGE, PASSWORD_HASH } from './fixture/fixture.controller.js';
import { askTwins, TWIN_ROUTES } from './fixture/twin-routes.js';
import { ADAPTERS, APP_ERROR_CONTENT_TYPE, reconnected, startFixtureApp, type FixtureApp, type StoreKind } from './fixture/fixture-app.js';
import { newKey, send, type Answer } from './http-client.js';

const PROBLEM = 'application/problem+json; charset=utf-8';
const ERROR_TTL_MS = 1500;
const REPLAYED_HEADERS = ['location', 'link', 'etag'];

function expectProblem(answer: Answer, status: number, code: string): void {
  expect(answer.status).toBe(status);
  expect(answer.headers['content-type']).toBe(PROBLEM);
  expect(answer.json).toMatchObject({ type: `urn:problem-type:${code.toLowerCase().replaceAll('_', '-')}`, status, code });
  expect(answer.headers['idempotency-cached']).toBe('false');
}

function expectSameAnswer(actual: Answer, expected: Answer): void {
  expect({ status: actual.status, contentType: actual.headers['content-type'], text: actual.text }).toEqual({
    status: expected.status,
    contentType: expected.headers['content-type'],
    text: expected.text,
  });
  for (const header of REPLAYED_HEADERS) expect([header, actual.headers[header]]).toEqual([header, expected.headers[header]]);
}

/** The record id of an anonymous POST with this key to this route. */
const recordIdOf = (route: string, key: string) => toIdempotencyContext({ principal: 'anonymous', method: 'POST', route, key }, '').recordId;

/** The record the store holds for a key of an /idem route, as the store returns it. */
async function storedRecord(fixture: FixtureApp, route: string, key: string): Promise<string> {
  const recordId = recordIdOf(route, key);
  const begun = await fixture.store.begin(recordId, { lockTtlMs: 1000, maxHoldMs: Infinity });
  if (begun.state !== 'stored') throw new Error(`expected a stored outcome for ${route}, found ${begun.state}`);
  return JSON.stringify(begun.stored);
}

/** Counts the store's `in_progress` answers for a record (requests that found it running) until restored. */
function countInProgress(store: IdempotencyStore, recordId: string): { readonly count: number; restore: () => void } {
  let count = 0;
  const begin = store.begin.bind(store);
  const spy = jest.spyOn(store, 'begin').mockImplementation(async (id, lock) => {
    const begun = await begin(id, lock);
    if (id === recordId && begun.state === 'in_progress') count++;
    return begun;
  });
  return {
    get count() {
      return count;
    },
    restore: () => spy.mockRestore(),
  };
}

/** The postgres store's database, on the shared server, for this file. */
let database: TestDatabase;
beforeAll(async () => {
  database = await TestDatabase.create();
});
afterAll(() => database?.drop());

/** The idempotency behaviour in an app with its own interceptors, serializer and filters, on each adapter with each store. */
describe.each(ADAPTERS)('on %s', (adapterName, adapter) => {
  describe.each<StoreKind>(['memory', 'redis', 'postgres', 'tiered'])('with the %s store', (storeKind) => {
    let redis: RedisServer | undefined;
    let fixture: FixtureApp;
    const storeOf = () => ({ kind: storeKind, redisUrl: redis?.url, postgres: database.connection });

    beforeAll(async () => {
      if (storeKind === 'redis' || storeKind === 'tiered') redis = await RedisServer.start();
      fixture = await startFixtureApp(adapter, storeOf(), { errorTtlMs: ERROR_TTL_MS });
    });

    afterAll(async () => {
      await fixture?.close();
      await redis?.stop();
    });

    it.each(TWIN_ROUTES)('POST /%s answers what the app answers without the layer, first time and on replay, and runs once', async (route, body) => {
      const key = newKey();
      const before = fixture.idem.executions;
      const { twin, first, replay } = await askTwins(fixture.url, route, body, key);
      expectSameAnswer(first, twin);
      expectSameAnswer(replay, first);
      expect(first.headers['idempotency-cached']).toBe('false');
      expect(replay.headers['idempotency-cached']).toBe('true');
      expect(replay.headers['idempotent-replayed']).toBe('true');
      expect(fixture.idem.executions).toBe(before + 1);
      const stored = await storedRecord(fixture, `/idem/${route}`, key);
      for (const secret of ['passwordHash', PASSWORD_HASH, 'riskScore', INTERNAL_MESSAGE]) expect(stored).not.toContain(secret);
    });

    it("sends the serializer's and the wrapper's output once: no excluded field, no double encoding", async () => {
      const first = await send(fixture.url, '/idem/users', { key: newKey(), body: { id: 'u2', email: 'b@c.d' } });
      expect(first.status).toBe(201);
      expect(first.text).toBe('{"data":{"id":"u2","email":"b@c.d"}}');
      expect(fixture.timing.seen.at(-1)!.value).toEqual({ data: expect.objectContaining({ id: 'u2' }) });
    });

    it("answers a handler's errors in the app's own format, and replays them", async () => {
      const key = newKey();
      const declined = await send(fixture.url, '/idem/decline', { key });
      expect(declined.status).toBe(402);
      expect(declined.headers['content-type']).toBe(APP_ERROR_CONTENT_TYPE);
      expect(declined.json).toEqual({ error: { status: 402, code: 'CARD_DECLINED', message: 'The card was declined.' } });
      expect((await send(fixture.url, '/idem/decline', { key })).headers['idempotency-cached']).toBe('true');
    });

    it('replays a header set with @Header() and the status of @HttpCode()', async () => {
      const key = newKey();
      const first = await send(fixture.url, '/idem/links', { key, body: { id: 'l2' } });
      const replay = await send(fixture.url, '/idem/links', { key, body: { id: 'l2' } });
      expect([first.status, replay.status]).toEqual([200, 200]);
      expect(replay.headers.link).toBe('</docs/things>; rel="help"');
    });

    it('never stores or replays Set-Cookie', async () => {
      const key = newKey();
      const first = await send(fixture.url, '/jobs', { key, body: { a: 1 } });
      expect(first.status).toBe(201);
      const replay = await send(fixture.url, '/jobs', { key, body: { a: 1 } });
      expect(replay.headers['set-cookie']).toBeUndefined();
      expect(replay.text).toBe(first.text);
    });

    it('takes a quoted key (structured-field string) and its bare form as the same key', async () => {
      const key = newKey();
      const first = await send(fixture.url, '/jobs', { key: `"${key}"` });
      const replay = await send(fixture.url, '/jobs', { key });
      expect(replay.headers['idempotency-cached']).toBe('true');
      expect(replay.text).toBe(first.text);
    });

    it('answers 400 problems for a missing, malformed or repeated key, and runs nothing', async () => {
      const before = fixture.jobs.executions;
      expectProblem(await send(fixture.url, '/jobs'), 400, 'IDEMPOTENCY_KEY_MISSING');
      expectProblem(await send(fixture.url, '/jobs', { key: 'has space' }), 400, 'IDEMPOTENCY_KEY_INVALID');
      expectProblem(await send(fixture.url, '/jobs', { key: 'x'.repeat(256) }), 400, 'IDEMPOTENCY_KEY_INVALID');
      const repeated = await send(fixture.url, '/jobs', { key: [newKey(), newKey()] });
      expectProblem(repeated, 400, 'IDEMPOTENCY_KEY_INVALID');
      expect(repeated.json.detail).toContain('once');
      expect(fixture.jobs.executions).toBe(before);
    });

    it('answers 422 for the same key with another body, without running', async () => {
      const key = newKey();
      await send(fixture.url, '/jobs', { key, body: { amount: 1 } });
      const before = fixture.jobs.executions;
      expectProblem(await send(fixture.url, '/jobs', { key, body: { amount: 2 } }), 422, 'IDEMPOTENCY_KEY_REUSED');
      expect(fixture.jobs.executions).toBe(before);
    });

    it('fingerprints the canonical body: the same data in another key order is the same request', async () => {
      const key = newKey();
      const first = await send(fixture.url, '/jobs', { key, body: { a: 1, b: { c: 2, d: 3 } } });
      const replay = await send(fixture.url, '/jobs', { key, body: { b: { d: 3, c: 2 }, a: 1 } });
      expect(replay.headers['idempotency-cached']).toBe('true');
      expect(replay.text).toBe(first.text);
    });

    it('fingerprints what the route says a retry must repeat (fingerprint option)', async () => {
      const key = newKey();
      const first = await send(fixture.url, '/jobs/amount', { key, body: { amount: 5, note: 'first' } });
      const retry = await send(fixture.url, '/jobs/amount', { key, body: { amount: 5, note: 'edited' } });
      expect(retry.headers['idempotency-cached']).toBe('true');
      expect(retry.text).toBe(first.text);
      expectProblem(await send(fixture.url, '/jobs/amount', { key, body: { amount: 6, note: 'first' } }), 422, 'IDEMPOTENCY_KEY_REUSED');
    });

    it('answers 409 with Retry-After while the first request runs, then replays its outcome', async () => {
      const key = newKey();
      const held = fixture.jobs.hold(key);
      const first = send(fixture.url, '/jobs/slow', { key });
      await held.started;
      const duplicate = await send(fixture.url, '/jobs/slow', { key });
      expectProblem(duplicate, 409, 'REQUEST_IN_PROGRESS');
      expect(duplicate.headers['retry-after']).toBe('1');
      held.release();
      const firstAnswer = await first;
      expect(firstAnswer.status).toBe(201);
      const replay = await send(fixture.url, '/jobs/slow', { key });
      expect(replay.headers['idempotency-cached']).toBe('true');
      expect(replay.text).toBe(firstAnswer.text);
    });

    it("frees the key when the client leaves while the handler's Observable runs (NestJS then sends nothing)", async () => {
      const key = newKey();
      const held = fixture.jobs.hold(key);
      const client = new AbortController();
      const abandoned = send(fixture.url, '/jobs/stream', { key, signal: client.signal }).catch(() => 'aborted');
      await held.started;
      client.abort();
      expect(await abandoned).toBe('aborted');
      const recordId = recordIdOf('/jobs/stream', key);
      await waitFor('the key is free again', async () => !(await fixture.store.isLocked(recordId)));
      const rerun = await send(fixture.url, '/jobs/stream', { key });
      expect([rerun.status, rerun.headers['idempotency-cached']]).toEqual([201, 'false']);
    });

    it('scopes a key by principal, method and route, never by query string', async () => {
      const key = newKey();
      const before = fixture.jobs.executions;
      const alice = await send(fixture.url, '/jobs', { key, headers: { 'x-user': 'alice' } });
      const bob = await send(fixture.url, '/jobs', { key, headers: { 'x-user': 'bob' } });
      const anonymous = await send(fixture.url, '/jobs', { key });
      const otherRoute = await send(fixture.url, '/jobs/optional', { key });
      for (const fresh of [alice, bob, anonymous, otherRoute]) expect(fresh.headers['idempotency-cached']).toBe('false');
      expect(fixture.jobs.executions).toBe(before + 4);

      const aliceAgain = await send(fixture.url, '/jobs?page=2', { key, headers: { 'x-user': 'alice' } });
      expect(aliceAgain.headers['idempotency-cached']).toBe('true');
      expect(aliceAgain.text).toBe(alice.text);
      expect(fixture.jobs.executions).toBe(before + 4);
    });

    it('stores a transient error (500) for the error TTL only; then the same key runs again', async () => {
      const key = newKey();
      const before = fixture.idem.executions;
      const first = await send(fixture.url, '/idem/fail', { key });
      expect(first.status).toBe(500);
      expect(first.headers['retry-after']).toBeUndefined();
      const replay = await send(fixture.url, '/idem/fail', { key });
      expect(replay.headers['idempotency-cached']).toBe('true');
      // The replay says when the stored error expires: whole seconds, at most the error TTL rounded up.
      expect(Number(replay.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(Number(replay.headers['retry-after'])).toBeLessThanOrEqual(Math.ceil(ERROR_TTL_MS / 1000));
      expect(fixture.idem.executions).toBe(before + 1);
      await waitFor(
        'the stored 500 has expired and the key runs again',
        async () => (await send(fixture.url, '/idem/fail', { key })).headers['idempotency-cached'] === 'false',
      );
      expect(fixture.idem.executions).toBe(before + 2);
    });

    it('stores what storeIf says: a route that stores no 5xx runs again on the next try', async () => {
      const key = newKey();
      const before = fixture.jobs.executions;
      await send(fixture.url, '/jobs/flaky', { key });
      const retry = await send(fixture.url, '/jobs/flaky', { key });
      expect(retry.headers['idempotency-cached']).toBe('false');
      expect(fixture.jobs.executions).toBe(before + 2);
    });

    it("leaves the key free after a validation error, which reaches the app's filter as it would without the layer", async () => {
      const key = newKey();
      const twin = await send(fixture.url, '/plain/validated', { body: { amount: 'ten' } });
      const invalid = await send(fixture.url, '/idem/validated', { key, body: { amount: 'ten' } });
      expectSameAnswer(invalid, twin);
      expect(invalid.status).toBe(400);
      expect(invalid.headers['idempotency-cached']).toBe('false');
      const corrected = await send(fixture.url, '/idem/validated', { key, body: { amount: 10 } });
      expect(corrected.status).toBe(201);
      expect(corrected.json).toEqual({ data: { amount: 10 } });
    });

    it("marks answers given before the interceptor runs (a guard's 401) with Idempotency-Cached: false", async () => {
      const refused = await send(fixture.url, '/jobs', { key: newKey(), headers: { 'x-user': 'nobody' } });
      expect(refused.status).toBe(401);
      expect(refused.headers['content-type']).toBe(APP_ERROR_CONTENT_TYPE);
      expect(refused.headers['idempotency-cached']).toBe('false');
    });

    it('runs a route whose key is optional every time when no key is sent', async () => {
      const before = fixture.jobs.executions;
      const first = await send(fixture.url, '/jobs/optional');
      const second = await send(fixture.url, '/jobs/optional');
      expect([first.status, second.status]).toEqual([201, 201]);
      expect(second.headers['idempotency-cached']).toBe('false');
      expect(fixture.jobs.executions).toBe(before + 2);
    });

    describe('in wait mode', () => {
      let waiting: FixtureApp;
      /** Another instance on the very same store object, where a duplicate meets the first request's lock in the store. */
      let sharing: FixtureApp;
      beforeAll(async () => {
        waiting = await startFixtureApp(adapter, storeOf(), { waitTimeoutMs: 1000 });
        // The kind builds nothing: the store is the first instance's.
        sharing = await startFixtureApp(adapter, { kind: 'memory' }, { waitTimeoutMs: 1000, idempotencyStore: waiting.store });
      });
      afterAll(async () => {
        await sharing?.close();
        await waiting?.close();
      });

      it('gives a duplicate the outcome once the first finishes within the bound, as a replay', async () => {
        const key = newKey();
        const held = waiting.jobs.hold(key);
        const first = send(waiting.url, '/jobs/slow', { key });
        await held.started;
        const toldInProgress = countInProgress(waiting.store, recordIdOf('/jobs/slow', key));
        try {
          const duplicate = send(sharing.url, '/jobs/slow', { key });
          await waitFor('the duplicate finds the first running', () => Promise.resolve(toldInProgress.count > 0));
          held.release();
          const answer = await duplicate;
          expect(answer.status).toBe(201);
          expect(answer.headers['idempotency-cached']).toBe('true');
          expect(answer.text).toBe((await first).text);
          expect(sharing.jobs.executions).toBe(0);
        } finally {
          toldInProgress.restore();
        }
      });

      it('answers 409 when the first runs past the bound', async () => {
        const key = newKey();
        const held = waiting.jobs.hold(key);
        const first = send(waiting.url, '/jobs/slow', { key });
        await held.started;
        expectProblem(await send(waiting.url, '/jobs/slow', { key }), 409, 'REQUEST_IN_PROGRESS');
        held.release();
        expect((await first).status).toBe(201);
      });
    });

    describe("with errorResponses: 'exception-filters'", () => {
      let ownFormat: FixtureApp;
      beforeAll(async () => {
        ownFormat = await startFixtureApp(adapter, storeOf(), { errorResponses: 'exception-filters' });
      });
      afterAll(() => ownFormat?.close());

      it("answers the layer's 400, 409 and 422 in the app's format, with their status, code and Retry-After", async () => {
        const missing = await send(ownFormat.url, '/jobs');
        expect([missing.status, missing.headers['content-type'], missing.json.error.code]).toEqual([400, APP_ERROR_CONTENT_TYPE, 'IDEMPOTENCY_KEY_MISSING']);

        const key = newKey();
        const held = ownFormat.jobs.hold(key);
        const first = send(ownFormat.url, '/jobs/slow', { key });
        await held.started;
        const conflict = await send(ownFormat.url, '/jobs/slow', { key });
        expect([conflict.status, conflict.headers['content-type'], conflict.json.error.code]).toEqual([409, APP_ERROR_CONTENT_TYPE, 'REQUEST_IN_PROGRESS']);
        expect(conflict.headers['retry-after']).toBe('1');
        expect(conflict.headers['idempotency-cached']).toBe('false');
        held.release();
        await first;

        const reused = await send(ownFormat.url, '/jobs/slow', { key, body: { other: true } });
        expect([reused.status, reused.json.error.code]).toEqual([422, 'IDEMPOTENCY_KEY_REUSED']);
        const replay = await send(ownFormat.url, '/jobs/slow', { key });
        expect(replay.headers['idempotency-cached']).toBe('true');
        expect(replay.text).toBe((await first).text);
      });
    });

    if (storeKind === 'postgres') {
      it('answers 503 with Retry-After and runs nothing while PostgreSQL is down (its own server, SIGKILLed); after a restart the next key runs', async () => {
        const server = await PostgresServer.start();
        const own = await startFixtureApp(adapter, { kind: 'postgres', postgres: server.connection });
        try {
          expect((await send(own.url, '/jobs', { key: newKey() })).status).toBe(201);
          await server.crash();
          const refused = await send(own.url, '/jobs', { key: newKey() });
          expectProblem(refused, 503, 'IDEMPOTENCY_STORE_UNAVAILABLE');
          expect(refused.headers['retry-after']).toBe('1');
          expect(own.jobs.executions).toBe(1);
          await server.restart();
          // Until the pool reaches the new server every try is a 503 that runs nothing; the first 201 is the one run.
          await waitFor('a new key runs again', async () => (await send(own.url, '/jobs', { key: newKey() })).status === 201);
          expect(own.jobs.executions).toBe(2);
        } finally {
          await own.close();
          await server.stop();
        }
      }, 60_000);

      it('runs a key once on another instance after the lock TTL when the instance running it is SIGKILLed mid-request', async () => {
        const options = { lockTtlMs: 500 };
        const { host, port, user, database: name } = database.connection;
        const crashing = ManagedProcess.spawn(process.execPath, [resolve(import.meta.dirname, 'fixture/slow-instance.mjs')], {
          name: 'an instance to be killed',
          env: {
            ...process.env,
            ADAPTER: adapterName,
            DATABASE_URL: `postgres://${encodeURIComponent(user)}@${host}:${port}/${name}`,
            LOCK_TTL_MS: String(options.lockTtlMs),
          },
        });
        const other = await startFixtureApp(adapter, storeOf(), options);
        try {
          let url = '';
          await waitFor('the instance to be killed listens', async () => (url = crashing.logs.match(/http:\/\/\S+/)?.[0] ?? '') !== '', 30_000);
          const key = newKey();
          void send(url, '/jobs/slow', { key }).catch(() => undefined);
          await waitFor('its request runs', () => Promise.resolve(crashing.logs.includes('handler started')));
          expectProblem(await send(other.url, '/jobs/slow', { key }), 409, 'REQUEST_IN_PROGRESS');
          await crashing.crash();
          await waitFor('the lock expired', async () => !(await other.store.isLocked(recordIdOf('/jobs/slow', key))));
          const rerun = await send(other.url, '/jobs/slow', { key });
          expect([rerun.status, rerun.headers['idempotency-cached']]).toEqual([201, 'false']);
          const replay = await send(other.url, '/jobs/slow', { key });
          expect([replay.headers['idempotency-cached'], replay.text]).toEqual(['true', rerun.text]);
          expect(other.jobs.executions).toBe(1);
        } finally {
          await crashing.crash();
          await other.close();
        }
      }, 60_000);
    }

    if (storeKind === 'tiered') {
      it('loses no outcome when Redis is emptied: the same bytes replayed from PostgreSQL, nothing run, 422 kept', async () => {
        const key = newKey();
        const first = await send(fixture.url, '/idem/users', { key, body: { id: 'u7', email: 'e@f.g' } });
        const executions = fixture.idem.executions;
        await fixture.redis!.flushall();
        const replay = await send(fixture.url, '/idem/users', { key, body: { id: 'u7', email: 'e@f.g' } });
        expect([replay.status, replay.headers['idempotency-cached'], replay.text]).toEqual([first.status, 'true', first.text]);
        expect(fixture.idem.executions).toBe(executions);
        expectProblem(await send(fixture.url, '/idem/users', { key, body: { id: 'u7', email: 'other@f.g' } }), 422, 'IDEMPOTENCY_KEY_REUSED');
      });
    }

    if (storeKind === 'redis' || storeKind === 'tiered') {
      it('extends the lock past its TTL while the operation runs: another instance gets 409 throughout', async () => {
        const lockTtlMs = 300;
        const [first, second] = await Promise.all([startFixtureApp(adapter, storeOf(), { lockTtlMs }), startFixtureApp(adapter, storeOf(), { lockTtlMs })]);
        try {
          const key = newKey();
          const lockKey = recordKeys(recordIdOf('/jobs/slow', key)).lock;
          const held = first.jobs.hold(key);
          const running = send(first.url, '/jobs/slow', { key });
          await held.started;
          // Two extensions seen (its remaining TTL went up twice): the lock has outlived its TTL.
          let lastTtl = Infinity;
          let extensions = 0;
          await waitFor('the lock was extended twice', async () => {
            const ttl = await first.redis!.pttl(lockKey);
            if (ttl > lastTtl) extensions++;
            lastTtl = ttl;
            return extensions >= 2;
          });
          expectProblem(await send(second.url, '/jobs/slow', { key }), 409, 'REQUEST_IN_PROGRESS');
          held.release();
          expect((await running).status).toBe(201);
          expect(first.jobs.lockLostSeen).toBe(false);
          expect(second.jobs.executions).toBe(0);
          expect((await send(second.url, '/jobs/slow', { key })).headers['idempotency-cached']).toBe('true');
        } finally {
          await Promise.all([first.close(), second.close()]);
        }
      });

      it('stops extending a hung operation past maxLockHoldMs: its key runs again elsewhere once the lock expires', async () => {
        const options = { lockTtlMs: 300, maxLockHoldMs: 300 };
        const [hung, other] = await Promise.all([startFixtureApp(adapter, storeOf(), options), startFixtureApp(adapter, storeOf(), options)]);
        try {
          const key = newKey();
          const held = hung.jobs.hold(key);
          const running = send(hung.url, '/jobs/slow', { key });
          await held.started;
          // As the store sees it: with the tiered store, in Redis and in PostgreSQL.
          await waitFor('the hung operation let its lock expire', async () => !(await hung.store.isLocked(recordIdOf('/jobs/slow', key))));
          const rerun = await send(other.url, '/jobs/slow', { key });
          expect(rerun.status).toBe(201);
          expect(other.jobs.executions).toBe(1);
          held.release();
          await running;
          expect(hung.jobs.lockLostSeen).toBe(true);
        } finally {
          await Promise.all([hung.close(), other.close()]);
        }
      });

      it('answers 503 with Retry-After and runs nothing while the store is unreachable, with no unhandled client error output', async () => {
        const before = fixture.jobs.executions;
        const consoleError = jest.spyOn(console, 'error');
        await redis!.crash();
        try {
          const refused = await send(fixture.url, '/jobs', { key: newKey() });
          expectProblem(refused, 503, 'IDEMPOTENCY_STORE_UNAVAILABLE');
          expect(refused.headers['retry-after']).toBe('1');
          expect(fixture.jobs.executions).toBe(before);
        } finally {
          await redis!.restart();
          await reconnected(fixture.redis!);
          consoleError.mockRestore();
        }
        expect(consoleError.mock.calls.map((call) => String(call[0]))).not.toContainEqual(expect.stringContaining('Unhandled error event'));
      });

      it("answers 503 within the store deadline when Redis stops answering, whatever the client's retry settings; a late lock is released", async () => {
        // The README's plainest construction: ioredis' defaults retry and queue for a long time.
        const silent = await startFixtureApp(adapter, storeOf(), { redis: new Redis(redis!.url), storeTimeoutMs: 500 });
        const key = newKey();
        const lockKey = recordKeys(recordIdOf('/jobs', key)).lock;
        const observer = new Redis(redis!.url);
        redis!.pause();
        try {
          const sent = performance.now();
          const refused = await send(silent.url, '/jobs', { key });
          expect(performance.now() - sent).toBeLessThan(2000);
          expectProblem(refused, 503, 'IDEMPOTENCY_STORE_UNAVAILABLE');
          expect(silent.jobs.executions).toBe(0);
        } finally {
          redis!.resume();
        }
        // The paused begin still reaches Redis and takes the lock; the layer releases it unused.
        await waitFor('the late lock is released', async () => (await observer.exists(lockKey)) === 0);
        expect(silent.jobs.executions).toBe(0);
        const retried = await send(silent.url, '/jobs', { key });
        expect([retried.status, retried.headers['idempotency-cached']]).toEqual([201, 'false']);
        expect(silent.jobs.executions).toBe(1);
        observer.disconnect();
        await silent.close();
      });

      it('encrypts stored headers and bodies at rest, and opens records sealed with an older key', async () => {
        const oldKey = { id: 'k1', key: Buffer.alloc(32, 1) };
        const newerKey = { id: 'k2', key: Buffer.alloc(32, 2).toString('base64') };
        const [sealing, rotated, keyless] = await Promise.all([
          startFixtureApp(adapter, storeOf(), { encryption: { keys: [oldKey] } }),
          startFixtureApp(adapter, storeOf(), { encryption: { keys: [newerKey, oldKey] } }),
          startFixtureApp(adapter, storeOf(), { encryption: { keys: [newerKey] } }),
        ]);
        try {
          const key = newKey();
          const first = await send(sealing.url, '/idem/links', { key, body: { id: 'sealed-body-marker' } });
          const record = await sealing.redis!.get(recordKeys(recordIdOf('/idem/links', key)).response);
          expect(record).not.toContain('sealed-body-marker');
          expect(record).not.toContain('/docs/things');
          const replay = await send(rotated.url, '/idem/links', { key, body: { id: 'sealed-body-marker' } });
          expect(replay.headers['idempotency-cached']).toBe('true');
          expectSameAnswer(replay, first);
          // Without the key that sealed it, the record cannot be read, and the request does not run again.
          expectProblem(await send(keyless.url, '/idem/links', { key, body: { id: 'sealed-body-marker' } }), 500, 'IDEMPOTENCY_RECORD_UNREADABLE');
          expect(keyless.idem.executions).toBe(0);
        } finally {
          await Promise.all([sealing.close(), rotated.close(), keyless.close()]);
        }
      });
    }
  });
});
