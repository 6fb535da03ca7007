import { describe } from '@jest/globals';
import type { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { hasRedisServerBinary, RedisServer } from '../harness/index.js';
import { waitFor } from './wait-for.js';

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
async function monitorRedis(client: Redis): Promise<Redis> {
  const monitor = client.duplicate({ monitor: true, lazyConnect: false });
  await new Promise<void>((resolve, reject) => {
    monitor.once('monitoring', resolve);
    monitor.on('error', (error: Error) => {
      if (!error.message.startsWith(QUEUE_STATE_ERROR)) reject(error);
    });
  });
  return monitor;
}

const SENTINEL = 'monitor-sentinel:';

export interface RedisWatch {
  /** Resolves once MONITOR has reported everything Redis ran before the call: a sentinel sent now has come back. */
  caughtUp(): Promise<void>;
  stop(): void;
}

/**
 * Reports what the Redis of `client` runs from now on, as MONITOR sees it: each command's arguments
 * and the address of the client that sent it (`lua` for the commands of a script, right after the
 * script's own line). MONITOR attaches asynchronously, so the watch is returned only once a sentinel
 * sent through `sentinelClient` has come back: from then on an empty report means "nothing was
 * sent", not "nothing was seen". Sentinels are not reported.
 */
export async function watchRedis(client: Redis, onCommand: (args: string[], source: string) => void, sentinelClient: Redis = client): Promise<RedisWatch> {
  const monitor = await monitorRedis(client);
  const sentinelsSeen = new Set<string>();
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    if (args[0]?.toLowerCase() === 'echo' && args[1]?.startsWith(SENTINEL)) sentinelsSeen.add(args[1]);
    else onCommand(args, source);
  });
  const caughtUp = async () => {
    const sentinel = `${SENTINEL}${randomUUID()}`;
    await sentinelClient.echo(sentinel);
    await waitFor('MONITOR to report the sentinel', () => Promise.resolve(sentinelsSeen.has(sentinel)), 5_000);
  };
  await caughtUp().catch((error: unknown) => {
    monitor.disconnect();
    throw error;
  });
  return { caughtUp, stop: () => monitor.disconnect() };
}
