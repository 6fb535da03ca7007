import { Logger } from '@nestjs/common';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { AppConfig } from '../config/index.js';
import type { RedisClient } from './redis.constants.js';

const logger = new Logger('Redis');
const READY_WAIT_MS = 5000;

/** Reconnects forever, at most a second apart, so the same process recovers by itself. */
const reconnectDelay = (attempt: number) => Math.min(attempt * 100, 1000);

/** The store: a Cluster when REDIS_CLUSTER_NODES is set, else one Redis on REDIS_URL. */
export function createStoreClient(config: AppConfig): Promise<RedisClient> {
  return config.REDIS_CLUSTER_NODES.length > 0
    ? createRedisClusterClient(config.REDIS_CLUSTER_NODES, config, 'store')
    : createRedisClient(config.REDIS_URL, config, 'store');
}

/**
 * A client that fails fast instead of queueing: with the offline queue off and a command timeout,
 * a request that needs Redis gets an error within REDIS_COMMAND_TIMEOUT_MS, never a hang, and
 * the client keeps reconnecting in the background so the same process recovers by itself.
 * Auto-pipelining sends the commands of concurrent requests in one write: on loopback each write
 * costs tens of microseconds of syscall, more than most commands. Our scripts are plain EVALSHA
 * commands (LuaScript) and join it; commands made by defineCommand (Redlock's) stay out of it:
 * with them ioredis 6 crashed the process under the fuzz test (a pipeline's results out of line
 * with its callbacks, "results[i] is not iterable", ioredis issue #1931).
 */
export function createRedisClient(url: string, config: AppConfig, name: string): Promise<Redis> {
  const client = new Redis(url, {
    ...connectionOptions(config, name),
    lazyConnect: true,
    enableOfflineQueue: false,
    enableAutoPipelining: true,
    autoPipeliningIgnoredCommands: [],
    retryStrategy: reconnectDelay,
  });
  keepScriptsOutOfAutoPipelines(client);
  return connectWithinReadyWait(client, `${name} (${redactUrl(url)})`);
}

/**
 * The same fail-fast client for a Redis Cluster. The nodes it discovers take their credentials and
 * TLS from the first URL (a cluster has one set of them), not from the URL that named them.
 */
export function createRedisClusterClient(urls: string[], config: AppConfig, name: string): Promise<Cluster> {
  const client = new Cluster(urls.map(clusterNode), {
    lazyConnect: true,
    enableOfflineQueue: false,
    enableAutoPipelining: true,
    // A Cluster's auto-pipelines are grouped by the slot of a command's first argument, which for
    // a script is its source or hash, not a key (ioredis issue #2109): scripts are sent on their own.
    autoPipeliningIgnoredCommands: ['eval', 'evalsha'],
    clusterRetryStrategy: reconnectDelay,
    // Per node too: a master that comes back is used as soon as it answers, not at the next slots refresh.
    clusterNodeRetryStrategy: reconnectDelay,
    redisOptions: { ...connectionOptions(config, name), ...clusterAuth(urls[0]) },
  });
  keepScriptsOutOfAutoPipelines(client);
  return connectWithinReadyWait(client, `${name} (cluster ${urls.map(redactUrl).join(', ')})`);
}

/** Commands defined later by defineCommand (Redlock's, on first use) join the list auto-pipelining ignores. */
function keepScriptsOutOfAutoPipelines(client: Redis | Cluster): void {
  const ignored = client.options.autoPipeliningIgnoredCommands!;
  const define = client.defineCommand.bind(client);
  client.defineCommand = (name, definition) => {
    ignored.push(name);
    define(name, definition);
  };
}

/** Credentials in a Redis URL never reach a log line. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

/** Every connection, standalone or to a cluster node: a failed command is not retried, and none waits longer than the timeout. */
function connectionOptions(config: AppConfig, name: string) {
  return {
    maxRetriesPerRequest: 0,
    commandTimeout: config.REDIS_COMMAND_TIMEOUT_MS,
    connectTimeout: Math.max(config.REDIS_COMMAND_TIMEOUT_MS, 1000),
    connectionName: `payments:${name}`,
  } satisfies RedisOptions;
}

function clusterNode(url: string): { host: string; port: number } {
  const { hostname, port } = new URL(url);
  // URL keeps the brackets of an IPv6 host; a socket wants the bare address.
  return { host: hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(port || 6379) };
}

function clusterAuth(url: string): Pick<RedisOptions, 'username' | 'password' | 'tls'> {
  const { username, password, protocol } = new URL(url);
  return {
    username: decodeURIComponent(username) || undefined,
    password: decodeURIComponent(password) || undefined,
    tls: protocol === 'rediss:' ? {} : undefined,
  };
}

/** Connects in the background and waits a bounded time for 'ready': the service starts even while Redis is away. */
async function connectWithinReadyWait<Client extends RedisClient>(client: Client, label: string): Promise<Client> {
  logConnectionEvents(client, label);
  client.connect().catch(() => undefined);
  // Not events.once(): it rejects on the first 'error', and a Redis that is down must not stop the start.
  const ready = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(resolve, READY_WAIT_MS, false).unref();
    client.once('ready', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
  if (!ready) logger.warn(`${label} is not reachable yet; requests answer 503 until it is`);
  return client;
}

/**
 * Reconnection repeats the same errors many times a second: each distinct error of a connection is
 * logged once per outage, and its recovery once. A cluster reports each node's errors apart from its own.
 */
function logConnectionEvents(client: RedisClient, label: string): void {
  // A reconnection cycle alternates errors (refused, closed): remember all of them, not only the last.
  const reported = new Map<string, Set<string>>();
  const failed = (source: string, error: Error) => {
    const messages = reported.get(source) ?? new Set<string>();
    if (!messages.has(error.message)) logger.warn(`${source}: ${error.message}`);
    reported.set(source, messages.add(error.message));
  };
  const recovered = (source: string) => {
    if (reported.delete(source)) logger.log(`${source} is reachable again`);
  };
  client.on('error', (error: Error) => failed(label, error));
  client.on('ready', () => recovered(label));
  if (client instanceof Cluster) {
    const nodeLabel = (hostPort: string) => `${label} node ${hostPort}`;
    client.on('node error', (error: Error, hostPort: string) => failed(nodeLabel(hostPort), error));
    client.on('+node', (node: Redis) => node.on('ready', () => recovered(nodeLabel(`${node.options.host}:${node.options.port}`))));
  }
}
