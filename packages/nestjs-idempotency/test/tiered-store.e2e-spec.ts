import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Redis } from 'ioredis';
import { RedisServer } from '../../../test/harness/index.js';
import { TieredIdempotencyStore } from '../src/index.js';
import { RedisIdempotencyStore } from '../src/storage/redis.index.js';
import { ADAPTERS, recommendedRedis, reconnected, startFixtureApp, type FixtureApp } from './fixture/fixture-app.js';
import { newKey, send } from './http-client.js';

/** Script calls a Redis has run since it started. */
async function scriptCalls(redis: Redis): Promise<number> {
  const info = await redis.info('commandstats');
  return Number(/^cmdstat_evalsha:calls=(\d+)/m.exec(info)?.[1] ?? 0);
}

/**
 * Redis over a durable store, behind the HTTP layer. The durable side here is a second Redis (its
 * own server), which the test can empty, kill and count commands on; the PostgreSQL store plays
 * that part in production.
 */
describe.each(ADAPTERS)('the tiered store on %s', (_adapterName, adapter) => {
  let hotServer: RedisServer;
  let durableServer: RedisServer;
  let hot: Redis;
  let durable: Redis;
  let fixture: FixtureApp;

  beforeAll(async () => {
    [hotServer, durableServer] = await Promise.all([RedisServer.start(), RedisServer.start()]);
    [hot, durable] = await Promise.all([recommendedRedis(hotServer.url), recommendedRedis(durableServer.url)]);
    const store = new TieredIdempotencyStore({ hot: new RedisIdempotencyStore(hot), durable: new RedisIdempotencyStore(durable) });
    fixture = await startFixtureApp(adapter, { kind: 'memory' }, { idempotencyStore: store });
  });

  afterAll(async () => {
    await fixture?.close();
    hot?.disconnect();
    durable?.disconnect();
    await Promise.all([hotServer?.stop(), durableServer?.stop()]);
  });

  it('replays from the hot store alone: one script there, nothing asked of the durable store', async () => {
    const key = newKey();
    const first = await send(fixture.url, '/jobs', { key, body: { a: 1 } });
    const [hotBefore, durableBefore] = await Promise.all([scriptCalls(hot), scriptCalls(durable)]);
    const replay = await send(fixture.url, '/jobs', { key, body: { a: 1 } });
    expect(replay.headers['idempotency-cached']).toBe('true');
    expect(replay.text).toBe(first.text);
    expect([(await scriptCalls(hot)) - hotBefore, (await scriptCalls(durable)) - durableBefore]).toEqual([1, 0]);
  });

  it('loses no outcome when the hot store is emptied: the same bytes replayed, nothing run, 422 kept, the hot copy made again', async () => {
    const key = newKey();
    const first = await send(fixture.url, '/idem/users', { key, body: { id: 'u9', email: 'z@y.x' } });
    const executions = fixture.idem.executions;
    await hot.flushall();

    const replay = await send(fixture.url, '/idem/users', { key, body: { id: 'u9', email: 'z@y.x' } });
    expect([replay.status, replay.headers['idempotency-cached'], replay.text]).toEqual([first.status, 'true', first.text]);
    expect(fixture.idem.executions).toBe(executions);
    const reused = await send(fixture.url, '/idem/users', { key, body: { id: 'u9', email: 'other@y.x' } });
    expect([reused.status, reused.json.code]).toEqual([422, 'IDEMPOTENCY_KEY_REUSED']);

    const durableBefore = await scriptCalls(durable);
    expect((await send(fixture.url, '/idem/users', { key, body: { id: 'u9', email: 'z@y.x' } })).text).toBe(first.text);
    expect((await scriptCalls(durable)) - durableBefore).toBe(0);
  });

  it('answers 409 for a request the durable store knows is running, after the hot store was emptied', async () => {
    const key = newKey();
    const held = fixture.jobs.hold(key);
    const running = send(fixture.url, '/jobs/slow', { key });
    await held.started;
    await hot.flushall();
    const duplicate = await send(fixture.url, '/jobs/slow', { key });
    expect([duplicate.status, duplicate.json.code]).toEqual([409, 'REQUEST_IN_PROGRESS']);
    held.release();
    expect((await running).status).toBe(201);
  });

  it('answers 503 and runs nothing when the durable store is unreachable on a miss in the hot one', async () => {
    const executions = fixture.jobs.executions;
    await durableServer.crash();
    try {
      const refused = await send(fixture.url, '/jobs', { key: newKey() });
      expect([refused.status, refused.json.code, refused.headers['retry-after']]).toEqual([503, 'IDEMPOTENCY_STORE_UNAVAILABLE', '1']);
      expect(fixture.jobs.executions).toBe(executions);
    } finally {
      await durableServer.restart();
      await reconnected(durable);
    }
    const next = await send(fixture.url, '/jobs', { key: newKey() });
    expect([next.status, next.headers['idempotency-cached']]).toEqual([201, 'false']);
  });
});
