import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Test } from '@nestjs/testing';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Pool } from 'pg';
import { waitFor } from '../../../test/support/wait-for.js';
import { PostgresServer, TestDatabase } from '../../../test/harness/index.js';
import {
  IdempotencyModule,
  IdempotencyService,
  IdempotencyStoreUnavailableError,
  type BeginResult,
  type IdempotencyLease,
  type LockOptions,
  type StoredResponse,
} from '../src/index.js';
import { PostgresIdempotencyStore } from '../src/storage/postgres.index.js';
import { recommendedPool } from './fixture/fixture-app.js';
import { heldWork } from './gate.js';
import { newKey } from './http-client.js';

const HELD: LockOptions = { lockTtlMs: 30_000, maxHoldMs: Infinity };
/** A holder that never extends its lock: it lives its TTL, as a crashed holder's does. */
const crashed = (lockTtlMs: number): LockOptions => ({ lockTtlMs, maxHoldMs: 0 });
const LONG_MS = 60_000;

const outcome = (body: string, extra: Partial<StoredResponse> = {}): StoredResponse => ({
  fingerprint: 'fp-1',
  status: 201,
  headers: { 'content-type': 'application/json; charset=utf-8', location: '/things/1' },
  body,
  ...extra,
});

function leaseOf(begun: BeginResult): IdempotencyLease {
  if (begun.state !== 'acquired') throw new Error(`expected the lock, found ${begun.state}`);
  return begun.lease;
}

/** The README's table SQL (the ```sql block of its "PostgreSQL store" part), for a table of another name. */
function readmeSchema(tableName: string): string {
  const readme = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8');
  const part = readme.slice(readme.indexOf('### PostgreSQL store'));
  const sql = /```sql\n([\s\S]*?)```/.exec(part)?.[1];
  if (!sql) throw new Error('README.md has no ```sql block under "### PostgreSQL store"');
  return sql.replaceAll('idempotency_records', tableName);
}

/** The PostgreSQL store on its own database of the shared server, through two pools (two instances of an app). */
describe('PostgresIdempotencyStore', () => {
  let database: TestDatabase;
  let pools: Pool[];
  let a: PostgresIdempotencyStore;
  let b: PostgresIdempotencyStore;
  const query = async <R>(text: string, values: unknown[] = []) => (await pools[0]!.query(text, values)).rows as R[];
  const rowCount = async (table: string) => Number((await query<{ count: string }>(`SELECT count(*) FROM ${table}`))[0]!.count);

  beforeAll(async () => {
    database = await TestDatabase.create();
    pools = [recommendedPool(database.connection), recommendedPool(database.connection)];
    a = new PostgresIdempotencyStore(pools[0]!);
    b = new PostgresIdempotencyStore(pools[1]!);
  });

  afterAll(async () => {
    await Promise.all(pools.map((pool) => pool.end()));
    await database?.drop();
  });

  it('gives the lock to exactly one of many concurrent begins from two pools, for a new key and for an expired lock', async () => {
    const recordId = newKey();
    const race = () => Promise.all(Array.from({ length: 24 }, (_, index) => (index % 2 ? a : b).begin(recordId, crashed(300))));
    const first = await race();
    expect(first.filter((begun) => begun.state === 'acquired')).toHaveLength(1);
    expect(first.filter((begun) => begun.state === 'in_progress')).toHaveLength(23);
    await waitFor('the lock expired', async () => !(await a.isLocked(recordId)));
    const second = await race();
    expect(second.filter((begun) => begun.state === 'acquired')).toHaveLength(1);
    await Promise.all(second.flatMap((begun) => (begun.state === 'acquired' ? [begun.lease.release()] : [])));
  });

  it('replays a stored outcome byte for byte, from another pool', async () => {
    const outcomes = [
      outcome('{"id":"ch_1","note":"caf\u00e9 \u{1F600} \u4e2d\u6587 \u2028 line\\nbreak"}'),
      outcome('text with a NUL \u0000 and a newline\nsecond line', { status: 200, headers: { 'content-type': 'text/plain' } }),
      outcome(Buffer.from([0, 255, 10, 13, 128]).toString('base64'), { binary: true, headers: { 'content-type': 'application/octet-stream' } }),
      outcome('c2VhbGVk', { sealedBy: 'k1', headers: {} }),
      outcome('', { status: 204, headers: {} }),
    ];
    for (const stored of outcomes) {
      const recordId = newKey();
      expect(await leaseOf(await a.begin(recordId, HELD)).complete(stored, LONG_MS)).toBe(true);
      const replay = await b.begin(recordId, HELD);
      expect(replay).toStrictEqual({ state: 'stored', stored, expiresAt: expect.any(Number) });
    }
  });

  it('extends a held lock past its TTL: others get in_progress throughout, and isLocked says so', async () => {
    const recordId = newKey();
    const lease = leaseOf(await a.begin(recordId, { lockTtlMs: 300, maxHoldMs: Infinity }));
    const expiries = new Set<string>();
    await waitFor('the lock was extended twice', async () => {
      const [row] = await query<{ expires_at: Date }>('SELECT expires_at FROM idempotency_records WHERE record_id = $1', [recordId]);
      expiries.add(row!.expires_at.toISOString());
      return expiries.size >= 3;
    });
    expect((await b.begin(recordId, HELD)).state).toBe('in_progress');
    expect(await b.isLocked(recordId)).toBe(true);
    expect(lease.lost.aborted).toBe(false);
    expect(await lease.complete(outcome('{}'), LONG_MS)).toBe(true);
    expect(await b.isLocked(recordId)).toBe(false);
  });

  it("frees a crashed holder's lock once its TTL passes; its late complete then loses to the new holder's outcome", async () => {
    const recordId = newKey();
    const stale = leaseOf(await a.begin(recordId, crashed(300)));
    expect((await b.begin(recordId, HELD)).state).toBe('in_progress');
    await waitFor('the lock expired', async () => !(await b.isLocked(recordId)));
    const current = leaseOf(await b.begin(recordId, HELD));
    expect(await stale.complete(outcome('"stale"'), LONG_MS)).toBe(false);
    expect(await current.complete(outcome('"current"'), LONG_MS)).toBe(true);
    expect(await a.begin(recordId, HELD)).toStrictEqual({ state: 'stored', stored: outcome('"current"'), expiresAt: expect.any(Number) });
  });

  it('lets a holder whose lock expired store its outcome while nobody else holds it', async () => {
    const recordId = newKey();
    const late = leaseOf(await a.begin(recordId, crashed(200)));
    await waitFor('the lock expired', async () => !(await b.isLocked(recordId)));
    expect(await late.complete(outcome('"late"'), LONG_MS)).toBe(true);
    expect(await b.begin(recordId, HELD)).toStrictEqual({ state: 'stored', stored: outcome('"late"'), expiresAt: expect.any(Number) });
  });

  it('releases only its own lock', async () => {
    const recordId = newKey();
    const stale = leaseOf(await a.begin(recordId, crashed(200)));
    await waitFor('the lock expired', async () => !(await b.isLocked(recordId)));
    const current = leaseOf(await b.begin(recordId, HELD));
    await stale.release();
    expect(await a.isLocked(recordId)).toBe(true);
    await current.release();
    expect(await a.isLocked(recordId)).toBe(false);
    await leaseOf(await a.begin(recordId, HELD)).release();
  });

  it('forgets an outcome past its TTL, whether or not its row is deleted yet', async () => {
    const recordId = newKey();
    await leaseOf(await a.begin(recordId, HELD)).complete(outcome('"short"'), 300);
    expect((await b.begin(recordId, HELD)).state).toBe('stored');
    const expired = async () =>
      (await query<{ expired: boolean }>('SELECT expires_at <= statement_timestamp() AS expired FROM idempotency_records WHERE record_id = $1', [recordId]))[0]!
        .expired;
    await waitFor('the outcome expired', expired);
    expect(await b.isLocked(recordId)).toBe(false);
    const rerun = leaseOf(await b.begin(recordId, HELD));
    expect(await rerun.complete(outcome('"again"'), LONG_MS)).toBe(true);
    expect(await a.begin(recordId, HELD)).toStrictEqual({ state: 'stored', stored: outcome('"again"'), expiresAt: expect.any(Number) });
  });

  it('keeps an outcome for a TTL beyond 2^31 ms (30 days)', async () => {
    const recordId = newKey();
    const thirtyDaysMs = 30 * 24 * 3600 * 1000;
    expect(thirtyDaysMs).toBeGreaterThan(2 ** 31);
    await leaseOf(await a.begin(recordId, HELD)).complete(outcome('{}'), thirtyDaysMs);
    const [row] = await query<{ ms: number }>(
      'SELECT extract(epoch FROM expires_at - statement_timestamp()) * 1000 AS ms FROM idempotency_records WHERE record_id = $1',
      [recordId],
    );
    expect(Math.abs(Number(row!.ms) - thirtyDaysMs)).toBeLessThan(60_000);
    const replay = await b.begin(recordId, HELD);
    expect(replay.state).toBe('stored');
    // Its expiry, as a tiered store copies it to the hot store: about 30 days from now.
    expect(Math.abs((replay as { expiresAt: number }).expiresAt - Date.now() - thirtyDaysMs)).toBeLessThan(60_000);
  });

  it('costs one statement for a replay and two for a first execution', async () => {
    const recordId = newKey();
    const statements = jest.spyOn(pools[0]!, 'query');
    try {
      await leaseOf(await a.begin(recordId, HELD)).complete(outcome('{}'), LONG_MS);
      expect(statements).toHaveBeenCalledTimes(2);
      statements.mockClear();
      expect((await a.begin(recordId, HELD)).state).toBe('stored');
      expect(statements).toHaveBeenCalledTimes(1);
    } finally {
      statements.mockRestore();
    }
  });

  it('deletes expired records in batches, and nothing live', async () => {
    const store = new PostgresIdempotencyStore(pools[0]!, { tableName: 'cleanup_records' });
    const write = (ttlMs: number) =>
      Promise.all(Array.from({ length: ttlMs < 1000 ? 25 : 5 }, async () => leaseOf(await store.begin(newKey(), HELD)).complete(outcome('{}'), ttlMs)));
    await write(50);
    await write(LONG_MS);
    const held = await Promise.all([1, 2, 3].map(async () => leaseOf(await store.begin(newKey(), HELD))));
    await waitFor(
      'the short outcomes expired',
      async () => Number((await query<{ count: string }>('SELECT count(*) FROM cleanup_records WHERE expires_at <= statement_timestamp()'))[0]!.count) === 25,
    );
    expect(await store.deleteExpired({ batchSize: 10 })).toBe(25);
    expect(await rowCount('cleanup_records')).toBe(8);
    expect(await store.deleteExpired()).toBe(0);
    await Promise.all(held.map((lease) => lease.release()));
    await expect(store.deleteExpired({ batchSize: 0 })).rejects.toThrow(RangeError);
  });

  it('deletes expired records every cleanupIntervalMs, until closed', async () => {
    const store = new PostgresIdempotencyStore(pools[0]!, { tableName: 'interval_records', cleanupIntervalMs: 50, cleanupBatchSize: 2 });
    try {
      const stored = await Promise.all([1, 2, 3, 4, 5].map(async () => leaseOf(await store.begin(newKey(), HELD)).complete(outcome('{}'), 1)));
      expect(stored).toEqual([true, true, true, true, true]);
      await waitFor('the background cleanup deleted them', async () => (await rowCount('interval_records')) === 0);
    } finally {
      await store.close();
    }
  });

  it('creates its table and index once when several stores start together', async () => {
    const stores = Array.from({ length: 6 }, (_, index) => new PostgresIdempotencyStore(pools[index % 2]!, { tableName: 'raced_records' }));
    const begun = await Promise.all(stores.map((store) => store.begin(newKey(), HELD)));
    expect(begun.map((result) => result.state)).toEqual(Array(6).fill('acquired'));
    await Promise.all(begun.map((result) => leaseOf(result).release()));
    expect(await query("SELECT indexname FROM pg_indexes WHERE tablename = 'raced_records' ORDER BY indexname")).toEqual([
      { indexname: 'raced_records_expires_at' },
      { indexname: 'raced_records_pkey' },
    ]);
  });

  it("with createSchema: false, is unavailable until the app's migration (the README's SQL) made the table, then uses it", async () => {
    const store = new PostgresIdempotencyStore(pools[0]!, { tableName: 'migrated_records', createSchema: false });
    const refused = await store.begin(newKey(), HELD).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(IdempotencyStoreUnavailableError);
    expect(String((refused as Error).cause)).toContain('"migrated_records" does not exist');
    await pools[0]!.query(readmeSchema('migrated_records'));
    const recordId = newKey();
    await leaseOf(await store.begin(recordId, HELD)).complete(outcome('{}'), LONG_MS);
    expect(await store.begin(recordId, HELD)).toStrictEqual({ state: 'stored', stored: outcome('{}'), expiresAt: expect.any(Number) });
  });

  it('takes a schema-qualified table name, and refuses a name that is not a plain identifier', async () => {
    await pools[0]!.query('CREATE SCHEMA billing');
    const store = new PostgresIdempotencyStore(pools[0]!, { tableName: 'billing.idempotency_records' });
    await leaseOf(await store.begin(newKey(), HELD)).release();
    expect(await query("SELECT table_schema FROM information_schema.tables WHERE table_name = 'idempotency_records' ORDER BY table_schema")).toEqual([
      { table_schema: 'billing' },
      { table_schema: 'public' },
    ]);
    for (const tableName of ['Records', 'records; DROP TABLE x', '"records"', 'a.b.c', '1records', 'r'.repeat(49)]) {
      expect(() => new PostgresIdempotencyStore(pools[0]!, { tableName })).toThrow(TypeError);
    }
  });

  it('rejects with IdempotencyStoreUnavailableError when the database cannot be reached', async () => {
    const pool = recommendedPool({ ...database.connection, database: `${database.name}_missing` });
    try {
      const store = new PostgresIdempotencyStore(pool);
      await expect(store.begin(newKey(), HELD)).rejects.toBeInstanceOf(IdempotencyStoreUnavailableError);
      await expect(store.isLocked(newKey())).rejects.toBeInstanceOf(IdempotencyStoreUnavailableError);
    } finally {
      await pool.end();
    }
  });
});

/** A PostgreSQL server of the test's own, killed (SIGKILL) under the store and started again. */
describe('PostgresIdempotencyStore when its server is killed', () => {
  let server: PostgresServer;
  let pool: Pool;
  let store: PostgresIdempotencyStore;
  let service: IdempotencyService;

  beforeAll(async () => {
    server = await PostgresServer.start();
    pool = recommendedPool(server.connection);
    store = new PostgresIdempotencyStore(pool);
    const moduleRef = await Test.createTestingModule({ imports: [IdempotencyModule.forRoot({ store, lockTtlMs: 500 })] }).compile();
    service = moduleRef.get(IdempotencyService);
  }, 60_000);

  afterAll(async () => {
    await pool?.end();
    await server?.stop();
  });

  it('rejects begin with IdempotencyStoreUnavailableError and runs nothing; after a restart the next key runs and earlier outcomes replay', async () => {
    const before = { scope: 'jobs', key: newKey() };
    expect(await service.run(before, async () => 'before the crash')).toEqual({ value: 'before the crash', replayed: false });
    await server.crash();
    let runs = 0;
    try {
      await expect(store.begin(newKey(), HELD)).rejects.toBeInstanceOf(IdempotencyStoreUnavailableError);
      await expect(service.run({ scope: 'jobs', key: newKey() }, async () => ++runs)).rejects.toBeInstanceOf(IdempotencyStoreUnavailableError);
      expect(runs).toBe(0);
    } finally {
      await server.restart();
    }
    expect(await service.run({ scope: 'jobs', key: newKey() }, async () => ++runs)).toEqual({ value: 1, replayed: false });
    expect(await service.run(before, async () => 'again')).toEqual({ value: 'before the crash', replayed: true });
  });

  it('answers 503 for an operation whose outcome cannot be stored when the server died under it; its key runs again once the lock expires', async () => {
    const work = { scope: 'jobs', key: newKey() };
    const held = heldWork('first');
    const first = service.run(work, held.run);
    await held.started;
    await server.crash();
    held.release();
    try {
      await expect(first).rejects.toBeInstanceOf(IdempotencyStoreUnavailableError);
    } finally {
      await server.restart();
    }
    // Its lock row survived the crash and holds the key until it expires (lockTtlMs 500).
    await waitFor('the key runs again', async () => (await service.run(work, async () => 'second')).value === 'second');
    expect(await service.run(work, async () => 'third')).toEqual({ value: 'second', replayed: true });
  });
});
