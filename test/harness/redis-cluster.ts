import { freePort } from './free-port.js';
import { runToSuccess } from './managed-process.js';
import { RedisServer } from './redis-server.js';
import { waitFor } from './wait-for.js';

/** The fewest masters `redis-cli --cluster create` accepts. */
const MASTERS = 3;
const READY_TIMEOUT_MS = 20_000;

/**
 * A real Redis Cluster of three masters (no replicas) on loopback, each a RedisServer with its own
 * free port and data directory, owned and stopped by whoever started it.
 */
export class RedisCluster {
  private constructor(readonly nodes: RedisServer[]) {}

  static async start(): Promise<RedisCluster> {
    const cluster = new RedisCluster([]);
    try {
      // One after another: a port from freePort() is only reserved once its server listens.
      for (let index = 0; index < MASTERS; index++) {
        const busPort = await freePort();
        const node = await RedisServer.start({
          // The default bus port (port + 10000) may be taken, or beyond 65535 for a high free port.
          args: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '2000', '--cluster-port', String(busPort)],
        });
        cluster.nodes.push(node);
      }
      const addresses = cluster.nodes.map((node) => `127.0.0.1:${node.port}`);
      await redisCli(['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'], READY_TIMEOUT_MS);
      await cluster.waitUntilEveryNodeIsOk();
      return cluster;
    } catch (error) {
      await cluster.stop();
      throw error;
    }
  }

  /** One URL per node, e.g. for REDIS_CLUSTER_NODES. */
  get urls(): string[] {
    return this.nodes.map((node) => node.url);
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.stop()));
  }

  /** SIGKILL to every node, like a crash; waits until they are gone. Each keeps its data directory (nodes.conf) for restart(). */
  async crash(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.crash()));
  }

  /**
   * Every node again on its port, with its cluster configuration (nodes.conf: the same node ids
   * and slots) but, without persistence (the default), none of its keys; resolves once the
   * cluster is ok again.
   */
  async restart(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.restart()));
    await this.waitUntilEveryNodeIsOk();
  }

  /** `--cluster create` returns once the slots are assigned; each node says ok once it sees them all. */
  private async waitUntilEveryNodeIsOk(): Promise<void> {
    for (const node of this.nodes) {
      await waitFor(
        `the Redis Cluster node on port ${node.port} reports cluster_state:ok`,
        async () => (await clusterInfo(node.port)).includes('cluster_state:ok'),
        {
          timeoutMs: READY_TIMEOUT_MS,
          intervalMs: 50,
        },
      );
    }
  }
}

function clusterInfo(port: number): Promise<string> {
  return redisCli(['-h', '127.0.0.1', '-p', String(port), 'cluster', 'info'], READY_TIMEOUT_MS);
}

function redisCli(args: string[], timeoutMs: number): Promise<string> {
  return runToSuccess('redis-cli', args, { timeoutMs });
}
