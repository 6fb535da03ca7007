import { afterAll, beforeAll, describe, it } from '@jest/globals';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { Pool, PoolConfig } from 'pg';
import { freePort, RedisCluster, RedisServer, TestDatabase } from '../../../test/harness/index.js';
import { MemoryIdempotencyStore, TieredIdempotencyStore } from '../src/index.js';
import { PostgresIdempotencyStore } from '../src/storage/postgres.index.js';
import { RedisIdempotencyStore } from '../src/storage/redis.index.js';
import { RedlockIdempotencyStore } from '../src/storage/redlock.index.js';
import { idempotencyStoreContract, type IdempotencyStoreSubject } from '../src/testing/index.js';
import { reconnected, recommendedPool } from './fixture/fixture-app.js';

/** The package README's client settings: commands fail at once rather than queue while Redis is away. */
const FAIL_FAST: RedisOptions = { enableOfflineQueue: false, maxRetriesPerRequest: 0 };

/** The clients a contract case opens (one set per store instance), disconnected when it ends. */
class Clients {
  private readonly opened: Array<Redis | Cluster> = [];

  /** Connected; auto-pipelining only where the README recommends it (not for Redlock's lock clients, ioredis issue #1931). */
  async redis(url: string, autoPipelining = false): Promise<Redis> {
    return this.connected(new Redis(url, { ...FAIL_FAST, enableAutoPipelining: autoPipelining }));
  }

  async cluster(urls: string[]): Promise<Cluster> {
    return this.connected(new Cluster(urls, { enableOfflineQueue: false, redisOptions: FAIL_FAST }));
  }

  /** A client of a port nothing listens on. */
  async unreachableRedis(): Promise<Redis> {
    return this.add(new Redis(await freePort(), '127.0.0.1', FAIL_FAST));
  }

  async unreachableCluster(): Promise<Cluster> {
    return this.add(new Cluster([{ host: '127.0.0.1', port: await freePort() }], { enableOfflineQueue: false, redisOptions: FAIL_FAST }));
  }

  /** After every case, and after the file: a case that timed out may not have got to its cleanup. */
  async closeAll(): Promise<void> {
    for (const client of this.opened.splice(0)) client.disconnect();
  }

  private async connected<Client extends Redis | Cluster>(client: Client): Promise<Client> {
    this.add(client);
    await reconnected(client);
    return client;
  }

  private add<Client extends Redis | Cluster>(client: Client): Client {
    this.opened.push(client);
    return client;
  }
}

/** The contract's cases as jest tests. */
function runContract(subject: IdempotencyStoreSubject): void {
  for (const contractCase of idempotencyStoreContract(subject)) it(contractCase.name, contractCase.run);
}

describe('the store contract on MemoryIdempotencyStore', () => {
  // One process's store: both "instances" are the same one.
  const store = new MemoryIdempotencyStore();
  runContract({ createStore: async () => store });
});

describe('the store contract on RedisIdempotencyStore with one Redis', () => {
  const clients = new Clients();
  let server: RedisServer;

  beforeAll(async () => {
    server = await RedisServer.start();
  });

  afterAll(async () => {
    await clients.closeAll();
    await server.stop();
  });

  runContract({
    createStore: async () => new RedisIdempotencyStore(await clients.redis(server.url, true)),
    createUnreachableStore: async () => new RedisIdempotencyStore(await clients.unreachableRedis()),
    cleanup: () => clients.closeAll(),
  });
});

describe('the store contract on RedisIdempotencyStore with a Redis Cluster', () => {
  const clients = new Clients();
  let cluster: RedisCluster;

  beforeAll(async () => {
    cluster = await RedisCluster.start();
  }, 60_000);

  afterAll(async () => {
    await clients.closeAll();
    await cluster.stop();
  });

  runContract({
    createStore: async () => new RedisIdempotencyStore(await clients.cluster(cluster.urls)),
    createUnreachableStore: async () => new RedisIdempotencyStore(await clients.unreachableCluster()),
    cleanup: () => clients.closeAll(),
  });
});

describe('the store contract on RedlockIdempotencyStore: records on one Redis, locks on three independent ones', () => {
  const clients = new Clients();
  let records: RedisServer;
  let lockNodes: RedisServer[];

  beforeAll(async () => {
    // One after another: a port from freePort() is only reserved once its server listens.
    records = await RedisServer.start();
    lockNodes = [];
    for (let node = 0; node < 3; node++) lockNodes.push(await RedisServer.start());
  });

  afterAll(async () => {
    await clients.closeAll();
    await Promise.all([records, ...lockNodes].map((server) => server.stop()));
  });

  const lockClients = () => Promise.all(lockNodes.map((node) => clients.redis(node.url)));
  runContract({
    createStore: async () => new RedlockIdempotencyStore(await clients.redis(records.url, true), await lockClients()),
    // The lock quorum is what only this store has: its records stay reachable, its lock nodes do not.
    createUnreachableStore: async () =>
      new RedlockIdempotencyStore(await clients.redis(records.url, true), [
        await clients.unreachableRedis(),
        await clients.unreachableRedis(),
        await clients.unreachableRedis(),
      ]),
    cleanup: () => clients.closeAll(),
  });
});

describe('the store contract on TieredIdempotencyStore: Redis over another Redis', () => {
  const clients = new Clients();
  let hot: RedisServer;
  let durable: RedisServer;

  beforeAll(async () => {
    hot = await RedisServer.start();
    durable = await RedisServer.start();
  });

  afterAll(async () => {
    await clients.closeAll();
    await Promise.all([hot.stop(), durable.stop()]);
  });

  runContract({
    createStore: async () =>
      new TieredIdempotencyStore({
        hot: new RedisIdempotencyStore(await clients.redis(hot.url, true)),
        durable: new RedisIdempotencyStore(await clients.redis(durable.url, true)),
      }),
    createUnreachableStore: async () =>
      new TieredIdempotencyStore({
        hot: new RedisIdempotencyStore(await clients.unreachableRedis()),
        durable: new RedisIdempotencyStore(await clients.unreachableRedis()),
      }),
    cleanup: () => clients.closeAll(),
  });
});

describe('the store contract on PostgresIdempotencyStore', () => {
  const pools: Pool[] = [];
  let database: TestDatabase;

  beforeAll(async () => {
    database = await TestDatabase.create();
  });

  afterAll(async () => {
    await Promise.all(pools.splice(0).map((pool) => pool.end()));
    await database.drop();
  });

  /** A pool of its own for every store instance, as a second app instance has; ended after each case. */
  const store = (config: PoolConfig) => {
    const pool = recommendedPool(config);
    pools.push(pool);
    return new PostgresIdempotencyStore(pool);
  };

  runContract({
    createStore: async () => store(database.connection),
    createUnreachableStore: async () => store({ host: '127.0.0.1', port: await freePort(), user: 'postgres', database: 'none', connectionTimeoutMillis: 500 }),
    cleanup: async () => {
      await Promise.all(pools.splice(0).map((pool) => pool.end()));
    },
  });
});
