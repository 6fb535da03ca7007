import { Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Pool, QueryResult, QueryResultRow } from 'pg';
import type { BeginResult, IdempotencyLease, IdempotencyStore, LockOptions, StoredResponse } from './idempotency-store.interface.js';
import { LossSignal, RenewedLease } from './lease.js';
import { decodeRecord, encodeRecord, IN_PROGRESS, logOutages, unavailable, validUntil } from './store-common.js';

export interface PostgresIdempotencyStoreOptions {
  /**
   * The records' table: a lower-case identifier (letters, digits, `_`; at most 48), optionally
   * schema-qualified (`billing.idempotency_records`). Default `idempotency_records`.
   */
  tableName?: string;
  /**
   * Create the table and its index on first use, if missing (under an advisory lock, so instances
   * starting together do not collide). Default true; false leaves them to the app's migrations.
   */
  createSchema?: boolean;
  /** Delete expired records every this many ms, in the background (the timer does not keep the process alive). Default: never; call `deleteExpired()`. */
  cleanupIntervalMs?: number;
  /** Rows per DELETE statement of the background cleanup. Default 1000. */
  cleanupBatchSize?: number;
}

/** What runs a statement: the store's pool, or the caller's client inside its transaction. */
interface Queryable {
  query<R extends QueryResultRow>(config: QueryConfig): Promise<QueryResult<R>>;
}

/** A statement prepared once per connection under its name: later runs send only its values (no text to parse and plan). */
interface QueryConfig {
  name: string;
  text: string;
  values: unknown[];
}

type Prepared = Omit<QueryConfig, 'values'>;

const TABLE_NAME = /^(?:([a-z_][a-z0-9_]{0,62})\.)?([a-z_][a-z0-9_]{0,47})$/;
const MAX_TIMER_MS = 2 ** 31 - 1;

type BeginRow = { acquired: boolean; response: Buffer | null; ttl_ms: number | null };

/**
 * The records' table and its statements. A row is a lock (`owner` set, no `response`) or an
 * outcome (`response` set, no `owner`) until `expires_at`, and past it does not exist for any
 * statement, deleted yet or not. Expiry is the database's clock: `statement_timestamp()`, which is
 * now() for a statement of its own and, inside the caller's transaction, the statement's own start
 * rather than the transaction's. Every value is a parameter; the table name, validated, is the
 * only text put in. Each statement is prepared once per connection under a name of its own and
 * table (on a replay or a first execution only values go over the wire, nothing is parsed or
 * planned again). Any failure rejects with IdempotencyStoreUnavailableError.
 */
class RecordTable {
  private readonly createSchema: string;
  private readonly beginSql: Prepared;
  private readonly completeSql: Prepared;
  private readonly extendSql: Prepared;
  private readonly releaseSql: Prepared;
  private readonly isLockedSql: Prepared;
  private readonly deleteExpiredSql: Prepared;
  private schema?: Promise<unknown>;

  constructor(
    readonly pool: Pool,
    tableName: string,
    createSchema: boolean,
  ) {
    const [, schema, name] = TABLE_NAME.exec(tableName) ?? [];
    if (name === undefined) {
      throw new TypeError(
        `tableName must be a lower-case SQL identifier (letters, digits, _; at most 48), optionally schema-qualified; got ${JSON.stringify(tableName)}`,
      );
    }
    const table = schema === undefined ? `"${name}"` : `"${schema}"."${name}"`;
    const expiry = (ttlParameter: string) => `statement_timestamp() + ${ttlParameter}::float8 * interval '1 millisecond'`;
    // One implicit transaction (a simple query of several statements): the advisory lock is held until the index exists.
    this.createSchema = `SELECT pg_advisory_xact_lock(hashtextextended('nestjs-idempotency ${tableName}', 0));
CREATE TABLE IF NOT EXISTS ${table} (
  record_id text PRIMARY KEY,
  owner uuid,
  response bytea,
  expires_at timestamptz NOT NULL,
  CHECK ((owner IS NULL) <> (response IS NULL))
);
CREATE INDEX IF NOT EXISTS "${name}_expires_at" ON ${table} (expires_at)`;
    if (!createSchema) this.schema = Promise.resolve();
    // The live record if there is one (a plain read: a replay writes nothing), else the lock: a new
    // row, or one that expired taken over.
    this.beginSql = {
      name: `nestjs-idempotency-begin:${tableName}`,
      text: `WITH live AS (
  SELECT response, expires_at FROM ${table} WHERE record_id = $1 AND expires_at > statement_timestamp()
), taken AS (
  INSERT INTO ${table} AS r (record_id, owner, expires_at)
  SELECT $1::text, $2::uuid, ${expiry('$3')} WHERE NOT EXISTS (SELECT FROM live)
  ON CONFLICT (record_id) DO UPDATE SET owner = excluded.owner, response = NULL, expires_at = excluded.expires_at
  WHERE r.expires_at <= statement_timestamp()
  RETURNING NULL::bytea AS response
)
SELECT true AS acquired, response, NULL::float8 AS ttl_ms FROM taken
UNION ALL
SELECT false, response, (extract(epoch FROM expires_at - statement_timestamp()) * 1000)::float8 FROM live`,
    };
    // While this owner holds the lock, or nobody does (it expired, or the row is gone): a live
    // outcome stored by a later holder stays.
    this.completeSql = {
      name: `nestjs-idempotency-complete:${tableName}`,
      text: `INSERT INTO ${table} AS r (record_id, owner, response, expires_at) VALUES ($1, NULL, $3, ${expiry('$4')})
ON CONFLICT (record_id) DO UPDATE SET owner = NULL, response = excluded.response, expires_at = excluded.expires_at
WHERE r.owner = $2::uuid OR r.expires_at <= statement_timestamp()`,
    };
    this.extendSql = {
      name: `nestjs-idempotency-extend:${tableName}`,
      text: `UPDATE ${table} SET expires_at = ${expiry('$3')} WHERE record_id = $1 AND owner = $2::uuid AND expires_at > statement_timestamp()`,
    };
    this.releaseSql = { name: `nestjs-idempotency-release:${tableName}`, text: `DELETE FROM ${table} WHERE record_id = $1 AND owner = $2::uuid` };
    this.isLockedSql = {
      name: `nestjs-idempotency-isLocked:${tableName}`,
      text: `SELECT EXISTS (SELECT FROM ${table} WHERE record_id = $1 AND owner IS NOT NULL AND expires_at > statement_timestamp()) AS locked`,
    };
    // The oldest expired rows first, through the index; rows another transaction holds are left for the next batch.
    this.deleteExpiredSql = {
      name: `nestjs-idempotency-deleteExpired:${tableName}`,
      text: `DELETE FROM ${table} WHERE record_id IN (
  SELECT record_id FROM ${table} WHERE expires_at <= statement_timestamp() ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED
)`,
    };
  }

  /**
   * The live record (`acquired` false: an outcome, or a lock when `response` is null), or the lock
   * taken with `token` (`acquired` true). No row: the record was written after the statement's
   * snapshot (a concurrent begin, or a transaction that held it and has just ended).
   */
  async begin(client: Queryable, recordId: string, token: string, ttlMs: number): Promise<BeginRow | undefined> {
    return (await this.run<BeginRow>(client, this.beginSql, [recordId, token, ttlMs])).rows[0];
  }

  /** Stores the outcome while `token` holds the lock or nobody does; false when another holder has the record. */
  async complete(client: Queryable, recordId: string, token: string, response: StoredResponse, ttlMs: number): Promise<boolean> {
    return (await this.run(client, this.completeSql, [recordId, token, Buffer.from(encodeRecord(response)), ttlMs])).rowCount === 1;
  }

  /** Compare-and-extend: only the owner, and only a lock that has not expired. */
  async extend(recordId: string, token: string, ttlMs: number): Promise<boolean> {
    return (await this.run(this.pool, this.extendSql, [recordId, token, ttlMs])).rowCount === 1;
  }

  /** Compare-and-delete: only the owner. */
  async release(client: Queryable, recordId: string, token: string): Promise<void> {
    await this.run(client, this.releaseSql, [recordId, token]);
  }

  async isLocked(recordId: string): Promise<boolean> {
    return (await this.run<{ locked: boolean }>(this.pool, this.isLockedSql, [recordId])).rows[0]!.locked;
  }

  /** Deletes up to `batchSize` expired rows; how many it deleted. */
  async deleteExpired(batchSize: number): Promise<number> {
    return (await this.run(this.pool, this.deleteExpiredSql, [batchSize])).rowCount ?? 0;
  }

  /** A statement, once the schema is in place (created on first use unless disabled). */
  private async run<R extends QueryResultRow>(client: Queryable, statement: Prepared, values: unknown[]): Promise<QueryResult<R>> {
    try {
      await (this.schema ??= this.pool.query(this.createSchema).catch((error: unknown) => {
        this.schema = undefined;
        throw error;
      }));
      return await client.query<R>({ ...statement, values });
    } catch (error) {
      unavailable(error);
    }
  }
}

/** A lock row of its own (committed at once), extended while the operation runs. */
class PostgresLease extends RenewedLease {
  constructor(
    recordId: string,
    lock: LockOptions,
    expiresAt: number,
    private readonly token: string,
    private readonly table: RecordTable,
  ) {
    super(recordId, lock, expiresAt);
  }

  protected async storeAndRelease(response: StoredResponse, ttlMs: number): Promise<boolean> {
    try {
      return await this.table.complete(this.table.pool, this.recordId, this.token, response, ttlMs);
    } catch (error) {
      // The outcome may not be stored; the lock is released if possible, else it expires.
      await this.releaseLock().catch(() => undefined);
      throw error;
    }
  }

  protected async extendLock(ttlMs: number): Promise<number> {
    const extendedAt = Date.now();
    if (!(await this.table.extend(this.recordId, this.token, ttlMs))) throw new Error('The lock is no longer held');
    return validUntil(extendedAt, ttlMs);
  }

  protected async releaseLock(): Promise<void> {
    await this.table.release(this.table.pool, this.recordId, this.token);
  }
}

/**
 * A lock row written by the caller's transaction: until the transaction ends, its row lock makes
 * every other begin of the record wait, so there is nothing to extend and nothing to lose. The
 * outcome is written by the same transaction; releasing deletes the row in it.
 */
class TransactionLease implements IdempotencyLease {
  private readonly loss = new LossSignal();
  private settled = false;

  constructor(
    readonly recordId: string,
    private readonly token: string,
    private readonly table: RecordTable,
    private readonly transaction: Queryable,
  ) {}

  get lost(): AbortSignal {
    return this.loss.signal;
  }

  async complete(response: StoredResponse, ttlMs: number): Promise<boolean> {
    return this.settle() && this.table.complete(this.transaction, this.recordId, this.token, response, ttlMs);
  }

  async release(): Promise<void> {
    if (this.settle()) await this.table.release(this.transaction, this.recordId, this.token);
  }

  private settle(): boolean {
    if (this.settled) return false;
    this.settled = true;
    return true;
  }
}

/**
 * Records and their locks in one PostgreSQL table, through a `pg` Pool the app owns (and ends). A
 * replay costs one statement and a first execution two: `begin` (the live record, else the lock,
 * in one INSERT … ON CONFLICT) and `complete` (store and release, a compare-and-set on the owner
 * token). The lock is extended by compare-and-set while the operation runs. With
 * `beginInTransaction` the record is written by the caller's own transaction, with its work.
 *
 * Any error of `pg` or the server (a lost connection, a failed statement) rejects with
 * IdempotencyStoreUnavailableError. A pool without an `error` listener gets one that logs each
 * outage once (an idle client's error would otherwise end the process).
 */
export class PostgresIdempotencyStore implements IdempotencyStore {
  private readonly table: RecordTable;
  private readonly logger = new Logger('PostgresIdempotencyStore');
  private readonly cleanupTimer?: NodeJS.Timeout;
  private cleaning?: Promise<void>;

  constructor(pool: Pool, options: PostgresIdempotencyStoreOptions = {}) {
    this.table = new RecordTable(pool, options.tableName ?? 'idempotency_records', options.createSchema ?? true);
    logOutages(pool, 'PostgresIdempotencyStore', 'PostgreSQL', 'connect');
    const { cleanupIntervalMs, cleanupBatchSize = 1000 } = options;
    checkBatchSize(cleanupBatchSize);
    if (cleanupIntervalMs !== undefined) {
      if (!(cleanupIntervalMs >= 1 && cleanupIntervalMs <= MAX_TIMER_MS)) throw new RangeError(`cleanupIntervalMs must be from 1 to ${MAX_TIMER_MS}`);
      this.cleanupTimer = setInterval(() => this.cleanUp(cleanupBatchSize), cleanupIntervalMs).unref();
    }
  }

  async begin(recordId: string, lock: LockOptions): Promise<BeginResult> {
    return this.beginWith(this.table.pool, recordId, lock, false);
  }

  /**
   * `transaction`: a `pg` client (checked out of a pool, or a Client) between the caller's BEGIN and
   * its COMMIT or ROLLBACK. Anything else throws at once (a TypeError, not a 503).
   */
  beginInTransaction(transaction: unknown, recordId: string, lock: LockOptions): Promise<BeginResult> {
    if (typeof (transaction as Partial<Queryable> | null)?.query !== 'function')
      throw new TypeError('transaction must be a pg client inside a transaction (BEGIN)');
    return this.beginWith(transaction as Queryable, recordId, lock, true);
  }

  async isLocked(recordId: string): Promise<boolean> {
    return this.table.isLocked(recordId);
  }

  /**
   * Deletes the records past their expiry, `batchSize` rows per statement (default 1000), until
   * none is left; returns how many. Expired records are never answered: this only reclaims space.
   */
  async deleteExpired({ batchSize = 1000 }: { batchSize?: number } = {}): Promise<number> {
    checkBatchSize(batchSize);
    let deleted = 0;
    let batch: number;
    do {
      batch = await this.table.deleteExpired(batchSize);
      deleted += batch;
    } while (batch === batchSize);
    return deleted;
  }

  /** Stops the background cleanup and waits for a round in progress. NestJS calls it on shutdown (`onModuleDestroy`); the pool stays the app's to end. */
  async close(): Promise<void> {
    clearInterval(this.cleanupTimer);
    await this.cleaning;
  }

  async onModuleDestroy(): Promise<void> {
    await this.close();
  }

  private async beginWith(client: Queryable, recordId: string, lock: LockOptions, inTransaction: boolean): Promise<BeginResult> {
    const token = randomUUID();
    const started = Date.now();
    // No row: written after the statement's snapshot; a second statement sees it (in a transaction, the outcome it committed).
    const row = (await this.table.begin(client, recordId, token, lock.lockTtlMs)) ?? (await this.table.begin(client, recordId, token, lock.lockTtlMs));
    if (row?.acquired) {
      const lease = inTransaction
        ? new TransactionLease(recordId, token, this.table, client)
        : new PostgresLease(recordId, lock, validUntil(started, lock.lockTtlMs), token, this.table);
      return { state: 'acquired', lease };
    }
    if (!row?.response) return IN_PROGRESS;
    return { state: 'stored', stored: decodeRecord(row.response.toString()), expiresAt: started + (row.ttl_ms ?? 0) };
  }

  private cleanUp(batchSize: number): void {
    this.cleaning ??= this.deleteExpired({ batchSize }).then(
      () => {
        this.cleaning = undefined;
      },
      (error: unknown) => {
        this.cleaning = undefined;
        const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
        this.logger.warn(`Deleting expired idempotency records failed: ${cause instanceof Error ? cause.message : String(cause)}`);
      },
    );
  }
}

function checkBatchSize(batchSize: number): void {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer; got ${batchSize}`);
}
