import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import type { PostgresConnection } from './postgres-server.js';

/**
 * The PostgreSQL server the machine runs for the tests (CI starts it before them; it is shared, so
 * tests only create and drop databases of their own on it): $POSTGRES_URL, else
 * postgres@127.0.0.1:5432.
 */
export function sharedPostgres(): PostgresConnection {
  const url = new URL(process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  return {
    host: url.hostname,
    port: Number(url.port || 5432),
    user: decodeURIComponent(url.username || 'postgres'),
    database: url.pathname.slice(1) || 'postgres',
  };
}

/**
 * A database of its own for one test file, on the shared server (or another): created under a
 * unique name, dropped with whatever is still connected to it.
 */
export class TestDatabase {
  private constructor(
    private readonly server: PostgresConnection,
    readonly connection: PostgresConnection,
  ) {}

  static async create(server: PostgresConnection = sharedPostgres()): Promise<TestDatabase> {
    const name = `test_${process.pid}_${randomBytes(6).toString('hex')}`;
    // The name is ours, made of [a-z0-9_]: safe to put in the statement (CREATE DATABASE takes no parameters).
    await onServer(server, `CREATE DATABASE ${name}`);
    return new TestDatabase(server, { ...server, database: name });
  }

  get name(): string {
    return this.connection.database;
  }

  /** As DATABASE_URL takes it (trust authentication: no password). */
  get url(): string {
    const { host, port, user, database } = this.connection;
    return `postgres://${encodeURIComponent(user)}@${host}:${port}/${database}`;
  }

  async drop(): Promise<void> {
    await onServer(this.server, `DROP DATABASE IF EXISTS ${this.name} WITH (FORCE)`);
  }
}

async function onServer(server: PostgresConnection, statement: string): Promise<void> {
  const client = new Client(server);
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}
