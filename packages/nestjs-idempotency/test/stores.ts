import type { Redis } from 'ioredis';
import type { Pool } from 'pg';
import { RedisServer, TestDatabase } from '../../../test/harness/index.js';
import { MemoryIdempotencyStore, type IdempotencyStore } from '../src/index.js';
import { PostgresIdempotencyStore } from '../src/storage/postgres.index.js';
import { RedisIdempotencyStore } from '../src/storage/redis.index.js';
import { recommendedPool, recommendedRedis, type StoreKind } from './fixture/fixture-app.js';

/** A store of one kind for tests without the fixture app: on a redis-server or a database of its own. */
export interface StartedStore {
  store: IdempotencyStore;
  /** With the redis store: its server, for tests that crash and restart it, and the store's client. */
  redisServer?: RedisServer;
  redis?: Redis;
  /** Stops and drops what it started. */
  close(): Promise<void>;
}

/** The kinds that run on one server of their own (the tiered store is two). */
export type StoreKindOfItsOwn = Exclude<StoreKind, 'tiered'>;

export async function startStore(kind: StoreKindOfItsOwn): Promise<StartedStore> {
  if (kind === 'redis') {
    const redisServer = await RedisServer.start();
    const redis = await recommendedRedis(redisServer.url);
    return {
      store: new RedisIdempotencyStore(redis),
      redisServer,
      redis,
      close: async () => {
        redis.disconnect();
        await redisServer.stop();
      },
    };
  }
  if (kind === 'postgres') {
    const database = await TestDatabase.create();
    const pool: Pool = recommendedPool(database.connection);
    return {
      store: new PostgresIdempotencyStore(pool),
      close: async () => {
        await pool.end();
        await database.drop();
      },
    };
  }
  return { store: new MemoryIdempotencyStore(), close: async () => undefined };
}
