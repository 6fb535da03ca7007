import { afterAll, afterEach, beforeAll, expect, it } from '@jest/globals';
import request from 'supertest';
import { PostgresServer, TestDatabase, type ServiceProcess } from '../harness/index.js';
import { ChargeLoad, expectEveryChargeKeptOnce, expectOnlyCleanOutageAnswers, firstSuccess, ledger, type LoadedKey } from './charge-load.js';
import { fileDatabaseUrl, postgresUrl } from './database.js';
import { startInstances } from './instances.js';
import { setBehavior } from './payments-client.js';
import { expectProblem } from './problem.js';
import { describeWithRedisBinary } from './redis.js';
import { startRedisTopology, type RedisTopology, type RedisTopologyKind } from './redis-topology.js';
import { waitFor } from './wait-for.js';

/** Charges of one load: enough to be mid-load when the fault strikes, few enough for a 2-core machine. */
const CHARGES = 90;
const CONCURRENCY = 9;
/** The fault strikes once this many are acknowledged: a third of the load before it, the rest during and after. */
const STRIKE_AFTER = CHARGES / 3;
const RECOVERY_TIMEOUT_MS = 20_000;

/** How a Redis and a PostgreSQL outage may answer a charge: a 503 problem with Retry-After, nothing else. */
const REDIS_OUTAGE_CODES = ['IDEMPOTENCY_STORE_UNAVAILABLE'];
const DATABASE_OUTAGE_CODES = ['DATABASE_UNAVAILABLE', 'IDEMPOTENCY_STORE_UNAVAILABLE'];

interface Readiness {
  status: number;
  body: { checks?: Record<string, { status: string }>; details?: Record<string, { status: string }> };
}

async function readiness(service: ServiceProcess): Promise<Readiness> {
  const response = await request(service.baseUrl).get('/health/ready');
  return { status: response.status, body: response.body as Readiness['body'] };
}

/** Waits until every instance's /health/ready says the dependency is up (200) or down (503 NOT_READY). */
async function waitUntilEveryInstanceSees(services: ServiceProcess[], dependency: string, state: 'up' | 'down'): Promise<void> {
  await Promise.all(
    services.map((service) =>
      waitFor(
        `${service.name} reports ${dependency} ${state} on /health/ready`,
        async () => {
          const { status, body } = await readiness(service);
          return state === 'up'
            ? status === 200 && body.details?.[dependency]?.status === 'up'
            : status === 503 && body.checks?.[dependency]?.status === 'down';
        },
        RECOVERY_TIMEOUT_MS,
      ).catch((error: unknown) => {
        // An instance that died says so, with what it printed last, rather than as a timeout.
        throw service.process ? error : new Error(`${service.name} exited:\n${service.logs.slice(-3000)}`);
      }),
    ),
  );
}

/** A database for the instances, and what to do once they are stopped. */
interface InstancesDatabase {
  url: string;
  stop?: () => Promise<void>;
}

/**
 * The test's Redis and three instances on it and on the database, started before the tests of the
 * describe block; after them, the instances are stopped, then the database, then Redis.
 */
function useInstances(kind: RedisTopologyKind, openDatabase: () => Promise<InstancesDatabase>): { redis: RedisTopology; services: ServiceProcess[] } {
  let redis: RedisTopology | undefined;
  let database: InstancesDatabase | undefined;
  const services: ServiceProcess[] = [];
  beforeAll(async () => {
    [redis, database] = await Promise.all([startRedisTopology(kind), openDatabase()]);
    services.push(...(await startInstances({ ...redis.env, DATABASE_URL: database.url })));
  });
  afterAll(async () => {
    await Promise.all(services.map((service) => service.stop()));
    await database?.stop?.();
    await redis?.stop();
  });
  return {
    get redis() {
      if (!redis) throw new Error('Redis is only available inside the tests of its describe block');
      return redis;
    },
    services,
  };
}

/**
 * Issue 23, "nothing is lost with Redis": three instances under a load of distinct keys, their
 * Redis SIGKILLed mid-load and replaced by an empty one on the same port(s). Redis held only locks
 * and hot copies: every outcome is in PostgreSQL, so every retry replays the bytes of its first 2xx
 * answer, the same key with another body is still 422, the gateway charged once per key, and
 * every order is listed.
 */
export function describeRedisReplacedMidLoad(kind: RedisTopologyKind): void {
  describeWithRedisBinary(`three instances whose ${kind} Redis is killed mid-load and replaced by an empty one`, () => {
    const fleet = useInstances(kind, async () => ({ url: await fileDatabaseUrl() }));
    const services = fleet.services;

    it('every retry replays its first 2xx answer, key reuse is 422, one charge per key, every order listed, no 500', async () => {
      const load = new ChargeLoad(services, CHARGES, { prefix: `redis-replaced-${kind}`, customerId: `cus_${kind}` });
      const loading = load.start(CONCURRENCY);
      await load.waitUntilAcknowledged(STRIKE_AFTER);
      await fleet.redis.crash();
      const crashedAt = Date.now();
      await load.waitUntilAnswered('a charge is refused while Redis is gone', (answer) => answer.status === 503);
      await fleet.redis.restart();
      await loading;

      // The replacement holds none of the outcomes acknowledged before the crash: what replays them below is PostgreSQL.
      const beforeCrash = load.keys.filter((loaded) => (firstSuccess(loaded)?.answeredAt ?? Infinity) < crashedAt);
      expect(beforeCrash.length).toBeGreaterThanOrEqual(STRIKE_AFTER);
      expect((await Promise.all(beforeCrash.map((loaded) => fleet.redis.holdsOutcomeOf(loaded.key)))).filter(Boolean)).toEqual([]);

      await load.retryUntilAcknowledged(RECOVERY_TIMEOUT_MS);
      await expectEveryChargeKeptOnce(load, services);
      expectOnlyCleanOutageAnswers(load.answers, REDIS_OUTAGE_CODES);
    });
  });
}

/**
 * Issue 23, "PostgreSQL unreachable": three instances under load, on a PostgreSQL server of the
 * test's own (never the shared one), SIGKILLed mid-load and restarted on the same port and data.
 * No acknowledged charge is lost, nothing is charged twice, nothing answers 500 (a 503 problem with
 * Retry-After during the outage), readiness follows the database, and the same processes recover
 * by themselves.
 */
export function describePostgresCrashMidLoad(kind: RedisTopologyKind): void {
  describeWithRedisBinary(`three instances on a ${kind} Redis whose PostgreSQL is killed mid-load and restarted`, () => {
    let postgres: PostgresServer | undefined;
    const { services } = useInstances(kind, async () => {
      postgres = await PostgresServer.start();
      return { url: postgresUrl((await TestDatabase.create(postgres.connection)).connection), stop: () => postgres!.stop() };
    });

    afterEach(async () => {
      if (postgres && !postgres.isRunning) await postgres.restart();
      await waitUntilEveryInstanceSees(services, 'database', 'up');
      await setBehavior(services[0]!.baseUrl, { minDelayMs: 20, maxDelayMs: 50 });
    });

    it('no acknowledged charge lost, none charged twice, no 500; /health/ready follows the database; the same processes recover', async () => {
      const pids = services.map((service) => service.pid);
      const load = new ChargeLoad(services, CHARGES, { prefix: `postgres-crash-${kind}`, customerId: `cus_${kind}` });
      const loading = load.start(CONCURRENCY);
      await load.waitUntilAcknowledged(STRIKE_AFTER);
      await postgres!.crash();
      await waitUntilEveryInstanceSees(services, 'database', 'down');
      await load.waitUntilAnswered('a charge is refused while PostgreSQL is down', (answer) => answer.status === 503);
      await postgres!.restart();
      await waitUntilEveryInstanceSees(services, 'database', 'up');
      await loading;

      await load.retryUntilAcknowledged(RECOVERY_TIMEOUT_MS);
      await expectEveryChargeKeptOnce(load, services);
      expectOnlyCleanOutageAnswers(load.answers, DATABASE_OUTAGE_CODES);
      // Recovered by themselves: the same processes, none restarted.
      expect(services.map((service) => service.pid)).toEqual(pids);
    });

    /*
     * The gateway charged, then the write of the outcome failed. The mock gateway's ledger is in
     * this same PostgreSQL, so the order of events is made deterministic rather than raced: the
     * gateway commits its charge and only then waits out its latency (GATEWAY_WINDOW_MS); the test
     * kills PostgreSQL once it sees that charge through another instance (a committed row, which
     * survives a SIGKILL of the server: its WAL was written at commit, fsync off only matters
     * for a machine that dies). PostgreSQL stays down until the charge has answered, so the
     * service's write after the gateway call can only fail. The window only has to outlast "see
     * the row, kill the server"; were it too short the charge would answer 201 and the test fail,
     * never pass wrongly.
     */
    it('a charge the gateway made before the database went down is finished by the retry: same charge, one ledger entry', async () => {
      const GATEWAY_WINDOW_MS = 3000;
      const [caller, observer] = services;
      await setBehavior(caller!.baseUrl, { minDelayMs: GATEWAY_WINDOW_MS, maxDelayMs: GATEWAY_WINDOW_MS });
      // One key, whose first attempt goes to the caller.
      const load = new ChargeLoad(services, 1, { prefix: 'postgres-after-gateway', customerId: `cus_${kind}` });
      const [loaded] = load.keys as [LoadedKey];
      const sending = load.start(1);
      await waitFor('the gateway has recorded the charge', async () => (await ledger(observer!.baseUrl, { idempotencyKey: loaded.key })).length === 1);
      const [charged] = await ledger(observer!.baseUrl, { idempotencyKey: loaded.key });
      await postgres!.crash();

      await sending;
      const [failed] = loaded.answers;
      expect(DATABASE_OUTAGE_CODES).toContain(expectProblem(failed!, 503).code);
      expect(failed!.headers['retry-after']).toMatch(/^\d+$/);

      await postgres!.restart();
      await waitUntilEveryInstanceSees(services, 'database', 'up');
      await setBehavior(caller!.baseUrl, { minDelayMs: 0, maxDelayMs: 0 });
      await load.retryUntilAcknowledged(RECOVERY_TIMEOUT_MS);
      const retry = firstSuccess(loaded)!;
      expect(retry.status).toBe(201);
      expect(JSON.parse(retry.text)).toMatchObject({ id: charged!.id, orderId: charged!.orderId, status: 'succeeded' });
      expect(await ledger(observer!.baseUrl, { idempotencyKey: loaded.key })).toHaveLength(1);
      const order = await request(observer!.baseUrl).get(`/api/orders/${charged!.orderId}`).expect(200);
      expect(order.body).toMatchObject({ status: 'PAID', payment: { chargeId: charged!.id } });
      const { answer: replay } = await load.chargeAgain(loaded);
      expect(replay.headers['idempotency-cached']).toBe('true');
      expect(replay.text).toBe(retry.text);
    });
  });
}
