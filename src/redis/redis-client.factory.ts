import { Logger } from '@nestjs/common';
import { Redis } from 'ioredis';
import { once } from 'node:events';
import { AppConfig } from '../config/index.js';

const logger = new Logger('Redis');
const READY_WAIT_MS = 5000;

/**
 * A client that fails fast instead of queueing: with the offline queue off and a command timeout,
 * a request that needs Redis gets an error within REDIS_COMMAND_TIMEOUT_MS, never a hang, and
 * the client keeps reconnecting in the background so the same process recovers by itself.
 */
export async function createRedisClient(url: string, config: AppConfig, name: string): Promise<Redis> {
  const client = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: config.REDIS_COMMAND_TIMEOUT_MS,
    connectTimeout: Math.max(config.REDIS_COMMAND_TIMEOUT_MS, 1000),
    retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
    connectionName: `payments:${name}`,
  });
  let lastError = '';
  client.on('error', (error: Error) => {
    // Reconnection repeats the same error many times a second; log each distinct one once.
    if (error.message !== lastError) logger.warn(`${name} (${redactUrl(url)}): ${error.message}`);
    lastError = error.message;
  });
  client.on('ready', () => {
    if (lastError) logger.log(`${name} (${redactUrl(url)}) is reachable again`);
    lastError = '';
  });
  client.connect().catch(() => undefined);
  const ready = await Promise.race([
    once(client, 'ready').then(() => true),
    new Promise<boolean>((resolve) => setTimeout(resolve, READY_WAIT_MS, false).unref()),
  ]);
  if (!ready) logger.warn(`${name} (${redactUrl(url)}) is not reachable yet; requests answer 503 until it is`);
  return client;
}

/** Credentials in a Redis URL never reach a log line. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}
