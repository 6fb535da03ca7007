import { Inject, Injectable } from '@nestjs/common';
import { inTransaction } from '@idempotent-payments/nestjs-idempotency/postgres';
import type { Pool, PoolClient, QueryResult, QueryResultRow } from 'pg';
import { databaseError } from './database-unavailable.js';
import { DATABASE_POOL } from './database.constants.js';

/** A statement prepared once per connection under its name (parsed and planned once, then only bound). */
export interface Statement {
  name: string;
  text: string;
}

/** What runs a statement: the pool, or a client inside a transaction. */
export type Queryable = Pick<PoolClient, 'query'>;

/**
 * The service's statements on its pool. A failure to reach the database becomes a 503 problem with
 * Retry-After (see databaseError); every other error passes unchanged.
 */
@Injectable()
export class Database {
  constructor(@Inject(DATABASE_POOL) readonly pool: Pool) {}

  async query<R extends QueryResultRow>(statement: Statement, values: unknown[], client: Queryable = this.pool): Promise<QueryResult<R>> {
    try {
      return await client.query<R>({ name: statement.name, text: statement.text, values });
    } catch (error) {
      throw databaseError(error);
    }
  }

  /** `work` inside BEGIN … COMMIT on one client, rolled back if it throws (see inTransaction). */
  async transaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    try {
      return await inTransaction(this.pool, work);
    } catch (error) {
      throw databaseError(error);
    }
  }
}
