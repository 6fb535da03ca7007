import { afterAll, beforeAll } from '@jest/globals';
import { TestDatabase, type PostgresConnection } from '../harness/index.js';

export function postgresUrl({ host, port, user, database }: PostgresConnection): string {
  return `postgres://${encodeURIComponent(user)}@${host}:${port}/${database}`;
}

let fileDatabase: Promise<TestDatabase> | undefined;

/**
 * The database of this test file on the machine's PostgreSQL, created on first use and dropped
 * after the file's tests (test/support/stop-processes.ts); the service migrates it at start.
 */
export async function fileDatabaseUrl(): Promise<string> {
  fileDatabase ??= TestDatabase.create();
  return postgresUrl((await fileDatabase).connection);
}

export async function dropFileDatabase(): Promise<void> {
  const database = fileDatabase;
  fileDatabase = undefined;
  await (await database?.catch(() => undefined))?.drop();
}

/** A database of its own for one describe block: created before its tests, dropped after. */
export function useDatabase(): { readonly url: string } {
  let database: TestDatabase | undefined;
  beforeAll(async () => {
    database = await TestDatabase.create();
  });
  afterAll(async () => {
    await database?.drop();
  });
  return {
    get url() {
      if (!database) throw new Error('the database is only available inside the tests of its describe block');
      return postgresUrl(database.connection);
    },
  };
}
