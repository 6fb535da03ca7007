import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { RedisServer } from '../harness/index.js';
import { describeWithRedisBinary } from '../support/redis.js';
import { IDEMPOTENCY_STORE, IdempotencyStoreUnavailableError, type IdempotencyStore } from '@idempotent-payments/nestjs-idempotency';
import { startTestApp, type TestApp } from '../support/test-app.js';

/**
 * What the reconciler asks before it touches an order: is the record's lock held? Over a Redlock
 * quorum, one instance takes the lock and another asks, while lock nodes go down one by one.
 */
describeWithRedisBinary('isLocked over the Redlock quorum (REDIS_LOCK_URLS)', () => {
  let store: RedisServer;
  let lockNodes: RedisServer[];
  let holder: TestApp;
  let observer: TestApp;

  beforeAll(async () => {
    store = await RedisServer.start();
    lockNodes = await Promise.all([1, 2, 3].map(() => RedisServer.start()));
    const env = { REDIS_LOCK_URLS: lockNodes.map((node) => node.url).join(','), REDIS_COMMAND_TIMEOUT_MS: '500', EVENTS_WORKER: 'false' };
    [holder, observer] = await Promise.all([startTestApp(store.url, env), startTestApp(store.url, env)]);
  });

  afterAll(async () => {
    await Promise.all([holder?.close(), observer?.close()]);
    await Promise.all([store, ...(lockNodes ?? [])].map((node) => node?.stop()));
  });

  const idempotencyStore = (app: TestApp) => app.app.get<IdempotencyStore>(IDEMPOTENCY_STORE);

  it('sees a lock another instance holds while a majority holds it, and tells free from unknown', async () => {
    const recordId = `is-locked-${randomUUID()}`;
    expect(await idempotencyStore(observer).isLocked(recordId)).toBe(false);
    const begun = await idempotencyStore(holder).begin(recordId, { lockTtlMs: 30_000, maxHoldMs: Infinity });
    if (begun.state !== 'acquired') throw new Error(`expected the lock, got ${begun.state}`);
    expect(await idempotencyStore(observer).isLocked(recordId)).toBe(true);

    // One node down: the two that answer hold it.
    await lockNodes[0]!.crash();
    expect(await idempotencyStore(observer).isLocked(recordId)).toBe(true);

    // Released on the two live nodes: free, though the third cannot answer.
    await begun.lease.release();
    expect(await idempotencyStore(observer).isLocked(recordId)).toBe(false);

    // Two nodes down: nobody can tell, so the store is unavailable rather than "free".
    await lockNodes[1]!.crash();
    await expect(idempotencyStore(observer).isLocked(recordId)).rejects.toBeInstanceOf(IdempotencyStoreUnavailableError);
  });
});
