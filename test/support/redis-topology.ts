import { toIdempotencyContext } from '@idempotent-payments/nestjs-idempotency';
import { recordKeys } from '@idempotent-payments/nestjs-idempotency/redis';
import { Cluster, Redis } from 'ioredis';
import { RedisCluster, RedisServer } from '../harness/index.js';
import { CHARGE_PATH } from './payments-client.js';

export type RedisTopologyKind = 'standalone' | 'cluster';

/**
 * The service's Redis for a fault test, either one redis-server (REDIS_URL) or a three-master
 * Cluster (REDIS_CLUSTER_NODES), started by the test and stopped by pid; without persistence, so
 * a crash and restart on the same ports is an empty Redis (a failover to a replica that lost its
 * data).
 */
export interface RedisTopology {
  readonly kind: RedisTopologyKind;
  /** What the service needs to use it. */
  readonly env: Record<string, string>;
  /** SIGKILL (every node of a Cluster); resolves once the processes are gone. */
  crash(): Promise<void>;
  /** An empty Redis on the same port(s); resolves once it answers (a Cluster: once every node is ok). */
  restart(): Promise<void>;
  /** Whether Redis holds the hot copy of the outcome of an anonymous charge with this key. */
  holdsOutcomeOf(key: string): Promise<boolean>;
  stop(): Promise<void>;
}

export async function startRedisTopology(kind: RedisTopologyKind): Promise<RedisTopology> {
  const servers = kind === 'cluster' ? await RedisCluster.start() : await RedisServer.start();
  const client =
    servers instanceof RedisCluster
      ? new Cluster(
          servers.nodes.map((node) => ({ host: '127.0.0.1', port: node.port })),
          { lazyConnect: true },
        )
      : new Redis(servers.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  client.on('error', () => undefined);
  return {
    kind,
    env: servers instanceof RedisCluster ? { REDIS_CLUSTER_NODES: servers.urls.join(',') } : { REDIS_URL: servers.url },
    crash: () => servers.crash(),
    restart: () => servers.restart(),
    async holdsOutcomeOf(key) {
      const recordId = toIdempotencyContext({ principal: 'anonymous', method: 'POST', route: CHARGE_PATH, key }, '').recordId;
      return (await client.exists(recordKeys(recordId).response)) === 1;
    },
    async stop() {
      client.disconnect();
      await servers.stop();
    },
  };
}
