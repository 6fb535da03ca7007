import { ServiceProcess } from '../harness/index.js';
import { fileBrokerUrl } from './broker.js';

/** How many instances of the service the fault tests of issue 23 run side by side. */
export const INSTANCES = 3;

/**
 * What every instance of a fault test shares: no rate limit (the tests send bursts), no webhook
 * deliveries (not what these tests watch), a gateway slow enough for requests to overlap, and
 * short Redis timeouts and lock TTLs so an outage answers quickly and a lock it left behind
 * expires quickly.
 */
const FAULT_ENV = {
  RATE_LIMIT_MAX: '0',
  WEBHOOK_DELIVERY: 'false',
  GATEWAY_MIN_DELAY_MS: '20',
  GATEWAY_MAX_DELAY_MS: '50',
  REDIS_COMMAND_TIMEOUT_MS: '500',
  IDEMPOTENCY_LOCK_TTL_MS: '2000',
};

/** INSTANCES built service processes (`node dist/main.js`) with the same configuration (the test file's broker vhost unless `env` names one), on ports of their own. */
export async function startInstances(env: Record<string, string>): Promise<ServiceProcess[]> {
  const shared = { ...FAULT_ENV, BROKER_URL: await fileBrokerUrl(), ...env };
  return Promise.all(Array.from({ length: INSTANCES }, () => ServiceProcess.start(shared)));
}
