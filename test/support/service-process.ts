import { afterAll, beforeAll } from '@jest/globals';
import { RedisServer, ServiceProcess } from '../harness/index.js';
import { fileBrokerUrl } from './broker.js';
import { fileDatabaseUrl } from './database.js';

export interface RunningService {
  /** The Redis of its own, to crash, restart or read. */
  readonly redis: RedisServer;
  readonly service: ServiceProcess;
}

/**
 * The built service on a redis-server of its own, the test file's database and broker vhost, for
 * one describe block: started before its tests, killed after. `env` adds or overrides variables.
 */
export function useServiceProcess(env: Record<string, string> = {}): RunningService {
  let redis: RedisServer | undefined;
  let service: ServiceProcess | undefined;
  beforeAll(async () => {
    redis = await RedisServer.start();
    service = await ServiceProcess.start({ REDIS_URL: redis.url, DATABASE_URL: await fileDatabaseUrl(), BROKER_URL: await fileBrokerUrl(), ...env });
  });
  afterAll(async () => {
    await service?.crash();
    await redis?.stop();
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the service is only available inside the tests of its describe block');
    return value;
  };
  return {
    get redis() {
      return started(redis);
    },
    get service() {
      return started(service);
    },
  };
}
