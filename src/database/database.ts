import { Inject, Injectable } from '@nestjs/common';
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

  /** `work` inside BEGIN … COMMIT on one client, rolled back if it throws. */
  async transaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    const { client, connection } = await this.checkOut().catch((error: unknown) => {
      throw databaseError(error);
    });
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(connection.failed);
      throw databaseError(error);
    } finally {
      client.off('error', connection.failed);
      // A client whose connection broke is discarded rather than returned to the pool.
      client.release(connection.error);
    }
  }

  /**
   * A client with an 'error' listener of ours. A checked-out client has none of the pool's, so the
   * server going away between two statements would be an unhandled 'error' event, which ends the
   * process; instead the next statement fails and the client is discarded. The listener is attached
   * in the pool's callback, not after an await: a new connection's first chunk can carry both its
   * ReadyForQuery and the server's FATAL, and the error is emitted before any promise continuation runs.
   */
  private checkOut(): Promise<{ client: PoolClient; connection: { error?: Error; failed: (error: Error) => void } }> {
    return new Promise((resolve, reject) => {
      this.pool.connect((error, client) => {
        if (error || !client) return reject(error instanceof Error ? error : new Error('the pool gave no client'));
        const connection: { error?: Error; failed: (error: Error) => void } = { failed: (failure) => (connection.error = failure) };
        client.on('error', connection.failed);
        resolve({ client, connection });
      });
    });
  }
}
