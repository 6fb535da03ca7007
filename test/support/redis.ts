import { describe } from '@jest/globals';
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
