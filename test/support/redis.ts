import { describe } from '@jest/globals';
import type { Redis } from 'ioredis';
import { hasRedisServerBinary, RedisServer } from '../../tools/process/index.js';

/** For tests that start, crash or scan Redis processes of their own: skipped where no redis-server binary exists. */
export const describeWithRedisBinary = hasRedisServerBinary ? describe : describe.skip;

/**
 * A Redis for one test file: its own redis-server process where the binary exists, else the
 * REDIS_URL instance (then tests that kill or scan Redis are skipped).
 */
export async function startRedis(options: { appendOnly?: boolean } = {}): Promise<Pick<RedisServer, 'url' | 'stop'>> {
  if (hasRedisServerBinary) return RedisServer.start(options);
  const url = process.env.REDIS_URL;
  if (!url) throw new Error('Neither redis-server nor REDIS_URL is available for the tests');
  return { url, stop: async () => undefined };
}

const QUEUE_STATE_ERROR = 'Command queue state error';

/**
 * A MONITOR connection to the Redis `client` uses. ioredis reads the lines that arrive in the same
 * packet as MONITOR's OK as replies and reports a "command queue state error" for them: those lines
 * predate the watch, so only that error is ignored.
 */
export async function monitorRedis(client: Redis): Promise<Redis> {
  const monitor = client.duplicate({ monitor: true, lazyConnect: false });
  await new Promise<void>((resolve, reject) => {
    monitor.once('monitoring', resolve);
    monitor.on('error', (error: Error) => {
      if (!error.message.startsWith(QUEUE_STATE_ERROR)) reject(error);
    });
  });
  return monitor;
}
