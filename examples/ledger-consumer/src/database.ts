import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import pg, { type Pool } from 'pg';

export const PG_POOL = Symbol('LEDGER:PG_POOL');

/** The ledger, created on start. No unique constraint on `event_id`, on purpose: that each event is here once is the idempotency layer's doing (see the README). */
const SCHEMA = `CREATE TABLE IF NOT EXISTS ledger_entries (
  entry_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  event_id text NOT NULL,
  order_id text NOT NULL,
  owner text NOT NULL,
  customer_id text NOT NULL,
  charge_id text NOT NULL,
  amount bigint NOT NULL CHECK (amount > 0),
  currency char(3) NOT NULL,
  occurred_at timestamptz NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now()
)`;

/** The pool the ledger and the idempotency store share: a record can only commit with its entry if both are written on one connection. */
export async function openPool(databaseUrl: string, createDatabase: boolean): Promise<Pool> {
  if (createDatabase) await createDatabaseIfMissing(databaseUrl);
  const pool = new pg.Pool({ connectionString: databaseUrl, connectionTimeoutMillis: 2000 });
  // An idle client that loses its connection emits 'error' on the pool: without a listener the process would exit.
  pool.on('error', (error) => new Logger('Database').warn(`idle connection lost: ${error.message}`));
  try {
    await pool.query(SCHEMA);
  } catch (error) {
    await pool.end();
    throw error;
  }
  return pool;
}

async function createDatabaseIfMissing(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.slice(1));
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`DATABASE_URL names a database the example does not create: ${JSON.stringify(name)}`);
  url.pathname = '/postgres';
  const server = new pg.Client({ connectionString: url.toString(), connectionTimeoutMillis: 2000 });
  await server.connect();
  try {
    const { rowCount } = await server.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount === 0) {
      // The name is checked above ([a-z0-9_]); CREATE DATABASE takes no parameters.
      await server.query(`CREATE DATABASE ${name}`);
      new Logger('Database').log(`created database ${name}`);
    }
  } catch (error) {
    // Another instance created it between our look and our CREATE: fine.
    if ((error as { code?: string }).code !== '42P04') throw error;
  } finally {
    await server.end();
  }
}

/** Ends the pool once Nest has stopped the consumer and the HTTP server. */
@Injectable()
export class PoolCloser implements OnApplicationShutdown {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  async onApplicationShutdown(): Promise<void> {
    await this.pool.end();
  }
}
