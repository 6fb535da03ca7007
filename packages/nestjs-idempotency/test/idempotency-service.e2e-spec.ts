import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Test } from '@nestjs/testing';
import { IdempotencyConflictError, IdempotencyKeyReusedError, IdempotencyModule, IdempotencyService, IdempotencyStoreUnavailableError } from '../src/index.js';
import { reconnected } from './fixture/fixture-app.js';
import { heldWork } from './gate.js';
import { newKey } from './http-client.js';
import { startStore, type StartedStore, type StoreKindOfItsOwn } from './stores.js';

/** The function-level API: work that is not an HTTP request, once per (scope, key). */
describe.each<StoreKindOfItsOwn>(['memory', 'redis', 'postgres'])('IdempotencyService.run with the %s store', (storeKind) => {
  let started: StartedStore | undefined;
  let service: IdempotencyService;

  beforeAll(async () => {
    started = await startStore(storeKind);
    const { store } = started;
    const moduleRef = await Test.createTestingModule({ imports: [IdempotencyModule.forRoot({ store })] }).compile();
    service = moduleRef.get(IdempotencyService);
  });

  afterAll(async () => {
    await started?.close();
  });

  it('runs the work once and gives later calls its stored result', async () => {
    const work = { scope: 'webhooks:gateway', key: newKey(), payload: { amount: 5 } };
    let runs = 0;
    const first = await service.run(work, async () => ({ applied: ++runs }));
    const second = await service.run(work, async () => ({ applied: ++runs }));
    expect(first).toEqual({ value: { applied: 1 }, replayed: false });
    expect(second).toEqual({ value: { applied: 1 }, replayed: true });
    expect(runs).toBe(1);
  });

  it('keeps scopes apart: the same key in another scope runs again', async () => {
    const key = newKey();
    await service.run({ scope: 'consumer-a', key }, async () => 'a');
    expect(await service.run({ scope: 'consumer-b', key }, async () => 'b')).toEqual({ value: 'b', replayed: false });
  });

  it('refuses a call while the same work runs, and the same key with another payload', async () => {
    const work = { scope: 'jobs', key: newKey(), payload: 1 };
    const held = heldWork('done');
    const running = service.run(work, held.run);
    await held.started;
    await expect(service.run(work, async () => 'again')).rejects.toBeInstanceOf(IdempotencyConflictError);
    expect(await service.isLocked(service.recordIdOf(work))).toBe(true);
    held.release();
    await running;
    expect(await service.isLocked(service.recordIdOf(work))).toBe(false);
    await expect(service.run({ ...work, payload: 2 }, async () => 'other')).rejects.toBeInstanceOf(IdempotencyKeyReusedError);
  });

  it('stores nothing when the work throws: the next delivery runs it', async () => {
    const work = { scope: 'jobs', key: newKey() };
    await expect(service.run(work, async () => Promise.reject(new Error('downstream timeout')))).rejects.toThrow('downstream timeout');
    expect(await service.run(work, async () => 'second try')).toEqual({ value: 'second try', replayed: false });
  });

  if (storeKind === 'redis') {
    it('runs nothing while the store is unreachable', async () => {
      await started!.redisServer!.crash();
      let runs = 0;
      try {
        await expect(service.run({ scope: 'jobs', key: newKey() }, async () => ++runs)).rejects.toBeInstanceOf(IdempotencyStoreUnavailableError);
        expect(runs).toBe(0);
      } finally {
        await started!.redisServer!.restart();
        await reconnected(started!.redis!);
      }
    });
  }
});
