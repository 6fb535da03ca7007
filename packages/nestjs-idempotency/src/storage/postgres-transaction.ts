import type { Pool, PoolClient } from 'pg';

/**
 * Runs `work` between BEGIN and COMMIT on one client of `pool` (ROLLBACK if it throws): the
 * transaction that `run(work, operation, { transaction: client })` writes its record in.
 *
 * A checked-out client has no 'error' listener of the pool's, so the server going away between two
 * statements would be an unhandled 'error' event, which ends the process. This one gets a listener
 * in the pool's own callback, before any await resumes (a new connection can report the server's
 * FATAL in the same chunk as its ReadyForQuery); the next statement fails instead, and a client
 * whose connection broke is discarded rather than pooled again.
 */
export async function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  let broken: Error | undefined;
  const onError = (error: Error) => (broken = error);
  const client = await new Promise<PoolClient>((resolve, reject) =>
    pool.connect((error, connected) => {
      if (error || !connected) return reject(error instanceof Error ? error : new Error('the pool gave no client'));
      connected.on('error', onError);
      resolve(connected);
    }),
  );
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(onError);
    throw error;
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
}
