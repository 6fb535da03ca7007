import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Test } from '@nestjs/testing';
import type { Pool, PoolClient } from 'pg';
import { waitFor } from '../../../test/support/wait-for.js';
import { TestDatabase } from '../../../test/harness/index.js';
import {
  IdempotencyModule,
  IdempotencyService,
  IdempotencyStoreUnavailableError,
  MemoryIdempotencyStore,
  type IdempotencyStore,
  type IdempotentResult,
} from '../src/index.js';
import { inTransaction, PostgresIdempotencyStore } from '../src/storage/postgres.index.js';
import { recommendedPool } from './fixture/fixture-app.js';
import { gate } from './gate.js';
import { newKey } from './http-client.js';

async function serviceWith(store: IdempotencyStore): Promise<IdempotencyService> {
  // A long deadline: a duplicate waits on the row for as long as the test keeps the first transaction open.
  const moduleRef = await Test.createTestingModule({ imports: [IdempotencyModule.forRoot({ store, storeTimeoutMs: 20_000 })] }).compile();
  return moduleRef.get(IdempotencyService);
}

/** A transaction of the caller's that ends as the test says: `begin`, `body` with the client, then `end` (ROLLBACK when `body` throws). */
async function transactionEndingWith<T>(end: 'COMMIT' | 'ROLLBACK', pool: Pool, body: (client: PoolClient) => Promise<T>, begin = 'BEGIN'): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query(begin);
    const result = await body(client);
    await client.query(end);
    return result;
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  } finally {
    client.release();
  }
}

/**
 * `IdempotencyService.run(work, operation, { transaction })` with the PostgreSQL store: the record
 * written in the caller's transaction with the work (an effect: a row in a table of the same
 * database). Two services, each with its store on its own pool, are two instances of an app.
 */
describe('IdempotencyService.run in the caller’s transaction, with the postgres store', () => {
  let database: TestDatabase;
  let pools: [Pool, Pool];
  let services: [IdempotencyService, IdempotencyService];

  /** The operation: one effect row for the key, in the caller's transaction; its result says which instance applied it. */
  const charge = (client: PoolClient, key: string, by: string) => async () => {
    await client.query('INSERT INTO effects (key, applied_by) VALUES ($1, $2)', [key, by]);
    return { chargedBy: by };
  };
  const effects = async (key: string) => (await pools[0].query<{ applied_by: string }>('SELECT applied_by FROM effects WHERE key = $1', [key])).rows;
  const work = (key: string) => ({ scope: 'payments', key, payload: { amount: 5 } });
  /** Statements of this database waiting for a lock: a duplicate blocked on the record's row. */
  const waitingOnRowLock = async () =>
    Number(
      (await pools[0].query<{ count: string }>("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"))
        .rows[0]!.count,
    ) > 0;

  /**
   * The first run of `key`, on the first instance, its transaction held open after the work until
   * `finish()` (then ended with `end`); resolves once the work is done.
   */
  async function firstHeldOpen(key: string, end: 'COMMIT' | 'ROLLBACK' = 'COMMIT') {
    const ran = gate();
    const finish = gate();
    let settled = false;
    const result = transactionEndingWith(end, pools[0], (client) =>
      services[0].run(
        work(key),
        async () => {
          const value = await charge(client, key, 'first')();
          ran.open();
          await finish.opened;
          return value;
        },
        { transaction: client },
      ),
    ).finally(() => (settled = true));
    await ran.opened;
    return { result, finish: finish.open, settled: () => settled };
  }

  beforeAll(async () => {
    database = await TestDatabase.create();
    pools = [recommendedPool(database.connection), recommendedPool(database.connection)];
    await pools[0].query('CREATE TABLE effects (id serial PRIMARY KEY, key text NOT NULL, applied_by text NOT NULL)');
    services = [await serviceWith(new PostgresIdempotencyStore(pools[0])), await serviceWith(new PostgresIdempotencyStore(pools[1]))];
  });

  afterAll(async () => {
    await Promise.all((pools ?? []).map((pool) => pool.end()));
    await database?.drop();
  });

  it('keeps the effect and the record on commit: a later run replays and applies nothing', async () => {
    const key = newKey();
    const first = await inTransaction(pools[0], (client) => services[0].run(work(key), charge(client, key, 'first'), { transaction: client }));
    expect(first).toEqual({ value: { chargedBy: 'first' }, replayed: false });
    const again = await inTransaction(pools[1], (client) => services[1].run(work(key), charge(client, key, 'again'), { transaction: client }));
    expect(again).toEqual({ value: { chargedBy: 'first' }, replayed: true });
    expect(await services[1].run(work(key), async () => ({ chargedBy: 'outside a transaction' }))).toEqual(again);
    expect(await effects(key)).toEqual([{ applied_by: 'first' }]);
  });

  it('keeps neither on rollback: a later run runs', async () => {
    const key = newKey();
    const rolledBack = await transactionEndingWith('ROLLBACK', pools[0], (client) =>
      services[0].run(work(key), charge(client, key, 'rolled back'), { transaction: client }),
    );
    expect(rolledBack.replayed).toBe(false);
    expect(await effects(key)).toEqual([]);
    expect(await services[1].isLocked(services[1].recordIdOf(work(key)))).toBe(false);
    const rerun = await inTransaction(pools[1], (client) => services[1].run(work(key), charge(client, key, 'rerun'), { transaction: client }));
    expect(rerun).toEqual({ value: { chargedBy: 'rerun' }, replayed: false });
    expect(await effects(key)).toEqual([{ applied_by: 'rerun' }]);
  });

  it('stores nothing when the operation throws: the transaction rolls back and the key runs again', async () => {
    const key = newKey();
    const failing = inTransaction(pools[0], (client) =>
      services[0].run(
        work(key),
        async () => {
          await charge(client, key, 'failing')();
          throw new Error('the gateway declined');
        },
        { transaction: client },
      ),
    );
    await expect(failing).rejects.toThrow('the gateway declined');
    expect(await effects(key)).toEqual([]);
    const rerun = await inTransaction(pools[0], (client) => services[0].run(work(key), charge(client, key, 'rerun'), { transaction: client }));
    expect(rerun.replayed).toBe(false);
    expect(await effects(key)).toEqual([{ applied_by: 'rerun' }]);
  });

  it('answers 503 when the outcome cannot be written in the transaction (a statement of the work failed in it); the rollback leaves the key free', async () => {
    const key = newKey();
    const broken = inTransaction(pools[0], (client) =>
      services[0].run(
        work(key),
        async () => {
          await client.query('SELECT 1 / 0').catch(() => undefined);
          return 'swallowed the error';
        },
        { transaction: client },
      ),
    );
    await expect(broken).rejects.toBeInstanceOf(IdempotencyStoreUnavailableError);
    const rerun = await inTransaction(pools[0], (client) => services[0].run(work(key), charge(client, key, 'rerun'), { transaction: client }));
    expect(rerun.replayed).toBe(false);
  });

  it.each([
    ['COMMIT', 'replays its outcome', { value: { chargedBy: 'first' }, replayed: true }, ['first']],
    ['ROLLBACK', 'runs', { value: { chargedBy: 'duplicate' }, replayed: false }, ['duplicate']],
  ] as const)(
    'makes a duplicate on another instance wait for the first transaction; after its %s the duplicate %s',
    async (end, _then, duplicateResult, applied) => {
      const key = newKey();
      const first = await firstHeldOpen(key, end);
      let duplicateSettled = false;
      const duplicate = inTransaction(pools[1], (client) => services[1].run(work(key), charge(client, key, 'duplicate'), { transaction: client })).finally(
        () => (duplicateSettled = true),
      );
      await waitFor('the duplicate waits on the record row', waitingOnRowLock);
      expect([first.settled(), duplicateSettled]).toEqual([false, false]);
      first.finish();
      expect((await first.result).replayed).toBe(false);
      expect(await duplicate).toEqual(duplicateResult);
      expect((await effects(key)).map((row) => row.applied_by)).toEqual(applied);
    },
  );

  it('answers 503 (a serialization failure) to a duplicate that waited at REPEATABLE READ; its transaction retried replays', async () => {
    const key = newKey();
    const first = await firstHeldOpen(key);
    const repeatableRead = (client: PoolClient) => services[1].run(work(key), charge(client, key, 'duplicate'), { transaction: client });
    const duplicate = transactionEndingWith('COMMIT', pools[1], repeatableRead, 'BEGIN ISOLATION LEVEL REPEATABLE READ').catch((error: unknown) => error);
    await waitFor('the duplicate waits on the record row', waitingOnRowLock);
    first.finish();
    await first.result;
    const refused = await duplicate;
    expect(refused).toBeInstanceOf(IdempotencyStoreUnavailableError);
    expect((refused as Error).cause).toMatchObject({ code: '40001' });
    expect(await transactionEndingWith('COMMIT', pools[1], repeatableRead, 'BEGIN ISOLATION LEVEL REPEATABLE READ')).toEqual({
      value: { chargedBy: 'first' },
      replayed: true,
    });
    expect((await effects(key)).map((row) => row.applied_by)).toEqual(['first']);
  });

  it('applies the effect once when runs with one key race on two instances, each in its own transaction', async () => {
    const keys = Array.from({ length: 8 }, () => newKey());
    const results = await Promise.all(
      keys.flatMap((key) =>
        services.map((service, index) =>
          inTransaction(pools[index]!, (client) => service.run(work(key), charge(client, key, `instance ${index}`), { transaction: client })),
        ),
      ),
    );
    for (const [index, key] of keys.entries()) {
      const [one, other] = results.slice(2 * index, 2 * index + 2) as [IdempotentResult<unknown>, IdempotentResult<unknown>];
      expect([one.replayed, other.replayed].sort()).toEqual([false, true]);
      expect(one.value).toEqual(other.value);
      expect(await effects(key)).toHaveLength(1);
    }
  });

  it('refuses a transaction that is not a pg client, and runs nothing', async () => {
    let runs = 0;
    await expect(services[0].run(work(newKey()), async () => ++runs, { transaction: pools[0].options })).rejects.toThrow(TypeError);
    expect(runs).toBe(0);
  });

  it('refuses a transaction with a store that cannot write in it, naming the PostgreSQL store, and runs nothing', async () => {
    const memory = await serviceWith(new MemoryIdempotencyStore());
    let runs = 0;
    await expect(memory.run(work(newKey()), async () => ++runs, { transaction: {} })).rejects.toThrow(/MemoryIdempotencyStore.*PostgresIdempotencyStore/);
    expect(runs).toBe(0);
  });
});
