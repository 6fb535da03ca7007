import { afterAll, beforeAll, expect, it } from '@jest/globals';
import pg from 'pg';
import request from 'supertest';
import type { GatewayCharge } from '../../src/gateway/gateway-charge.js';
import { RabbitMqServer, RedisServer, ServiceProcess } from '../harness/index.js';
import { ownBrokerServiceEnv } from '../support/broker.js';
import { fileDatabaseUrl } from '../support/database.js';
import { balanceOf, waitUntilAllConsumed } from '../support/events-client.js';
import { charge, newKey, validCharge } from '../support/payments-client.js';
import { describeWithRedisBinary } from '../support/redis.js';
import { waitFor } from '../support/wait-for.js';

const CHARGES = 300;
const CONCURRENCY = 8;
const CUSTOMERS = ['cus_once_a', 'cus_once_b', 'cus_once_c', 'cus_once_d'];
/** What a client retries with the same key: no answer (the instance died), in progress, unavailable, a stored transient failure. */
const RETRYABLE = new Set([409, 500, 502, 503]);

/**
 * Issue 24's exactly-once case: 300 charges over two service instances (each relays the outbox
 * and consumes the projections) while one instance is SIGKILLed and restarted and the broker (a
 * node of this test's own) is stopped for a few seconds and started again. Every payment the
 * gateway made appears once in the projections (count and sum per customer), and every paid order
 * has its receipt.
 */
describeWithRedisBinary('300 charges over two instances, one killed and restarted, the broker stopped and restarted', () => {
  let broker: RabbitMqServer;
  let redis: RedisServer;
  let services: ServiceProcess[] = [];
  let database: pg.Pool;

  beforeAll(async () => {
    [broker, redis] = await Promise.all([RabbitMqServer.start(), RedisServer.start()]);
    const databaseUrl = await fileDatabaseUrl();
    database = new pg.Pool({ connectionString: databaseUrl, max: 2 });
    const env = {
      ...ownBrokerServiceEnv({ redisUrl: redis.url, databaseUrl, brokerUrl: broker.url }),
      GATEWAY_MIN_DELAY_MS: '5',
      GATEWAY_MAX_DELAY_MS: '20',
      // A killed instance's locks expire soon, so the retries of its charges resume them.
      IDEMPOTENCY_LOCK_TTL_MS: '2000',
    };
    services = await Promise.all([ServiceProcess.start(env), ServiceProcess.start(env)]);
  });

  afterAll(async () => {
    await Promise.all(services.map((service) => service.crash()));
    await database?.end();
    await Promise.all([broker?.remove(), redis?.stop()]);
  });

  it('makes every payment appear once in the projections (count and sum per customer) and gives every paid order its receipt', async () => {
    let acknowledged = 0;
    let brokerDown = false;
    let acknowledgedWhileBrokerDown = 0;
    /** A client that keeps its key: the next instance each attempt, until a 201. */
    const chargeUntilCreated = async (index: number) => {
      const key = newKey('once');
      const body = validCharge({ customerId: CUSTOMERS[index % CUSTOMERS.length], amount: 100 + ((index * 37) % 900) });
      for (let attempt = index; ; attempt++) {
        const response = await charge(services[attempt % services.length]!.baseUrl, key, body).catch(() => undefined);
        if (response?.status === 201) {
          acknowledged++;
          if (brokerDown) acknowledgedWhileBrokerDown++;
          return;
        }
        if (response && !RETRYABLE.has(response.status)) throw new Error(`${key}: ${response.status} ${response.text}`);
        // A client's pause between retries, so that retries during an outage do not spin.
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    // The last third of the charges starts once the broker is gone, so that the load cannot finish before.
    let brokerGone!: () => void;
    const whenBrokerGone = new Promise<void>((resolve) => (brokerGone = resolve));
    let next = 0;
    const load = Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < CHARGES) {
          const index = next++;
          if (index >= (CHARGES * 2) / 3) await whenBrokerGone;
          await chargeUntilCreated(index);
        }
      }),
    );
    const faults = (async () => {
      await waitFor('50 charges are acknowledged', async () => acknowledged >= 50, 30_000);
      await services[0]!.crash();
      await services[0]!.restart();
      await waitFor('120 charges are acknowledged', async () => acknowledged >= 120, 30_000);
      // Counted from when the node is gone (stopping it takes seconds, while it still works).
      await broker.stop();
      brokerDown = true;
      brokerGone();
      // Charging goes on without the broker.
      await waitFor('20 charges are acknowledged while the broker is down', async () => acknowledgedWhileBrokerDown >= 20, 20_000);
      // Their events wait in the outbox.
      const { rows } = await database.query<{ n: number }>('SELECT count(*)::int AS n FROM payment_events WHERE published_at IS NULL');
      expect(rows[0]!.n).toBeGreaterThanOrEqual(20);
      await broker.restart();
      brokerDown = false;
    })();
    await Promise.all([load, faults]);
    expect(acknowledged).toBe(CHARGES);

    await waitUntilAllConsumed(database, 30_000);
    const ledger = (await request(services[1]!.baseUrl).get('/api/admin/provider/charges').expect(200)).body.charges as GatewayCharge[];
    expect(ledger).toHaveLength(CHARGES);
    for (const customerId of CUSTOMERS) {
      const charges = ledger.filter((entry) => entry.customerId === customerId);
      expect(await balanceOf(services[0]!.baseUrl, customerId)).toEqual([
        { currency: 'EUR', amount: charges.reduce((sum, entry) => sum + entry.amount, 0), payments: charges.length },
      ]);
    }
    const { rows } = await database.query<{ order_id: string; charge_id: string }>(
      `SELECT o.id AS order_id, r.charge_id FROM orders o LEFT JOIN receipts r ON r.order_id = o.id WHERE o.status = 'PAID'`,
    );
    expect(rows).toHaveLength(CHARGES);
    const byOrder = new Map(ledger.map((entry) => [entry.orderId, entry.id]));
    expect(rows.filter((row) => row.charge_id !== byOrder.get(row.order_id))).toEqual([]);
  });
});
