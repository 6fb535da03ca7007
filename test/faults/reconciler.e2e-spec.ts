import { afterAll, afterEach, beforeAll, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import request from 'supertest';
import { RedisServer, ServiceProcess, RabbitMqVhost, TestDatabase } from '../harness/index.js';
import { describeWithRedisBinary } from '../support/redis.js';
import type { PaymentEvent } from '../../src/events/payment-event.js';
import { gatewayWebhookFor } from '../../src/gateway/gateway-webhook.js';
import { allOrders, ledger, orderOf } from '../support/charge-load.js';
import { postgresUrl } from '../support/database.js';
import { TEST_WEBHOOK_SECRET, balanceOf, outboxEntries, postWebhook, waitUntilAllConsumed } from '../support/events-client.js';
import { sample } from '../support/metrics.js';
import { charge, newKey, setBehavior, validCharge } from '../support/payments-client.js';
import { waitFor } from '../support/wait-for.js';

const RECONCILE_AFTER_SECONDS = 2;
const RECONCILE_INTERVAL_MS = 200;
const LOCK_TTL_MS = 2000;
/** Settled within the reconcile age (or the dead holder's lock TTL) and one sweep; the rest is slack for a busy machine. */
const SETTLED_WITHIN_MS = RECONCILE_AFTER_SECONDS * 1000 + LOCK_TTL_MS + RECONCILE_INTERVAL_MS + 4000;

const serviceEnv = ({ url, databaseUrl, brokerUrl }: Backends): Record<string, string> => ({
  REDIS_URL: url,
  DATABASE_URL: databaseUrl,
  BROKER_URL: brokerUrl,
  IDEMPOTENCY_LOCK_TTL_MS: String(LOCK_TTL_MS),
  RECONCILE_AFTER_SECONDS: String(RECONCILE_AFTER_SECONDS),
  RECONCILE_INTERVAL_MS: String(RECONCILE_INTERVAL_MS),
  WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
  // The webhooks of these tests are posted by the tests, at the moments they choose.
  WEBHOOK_DELIVERY: 'false',
  // The tests poll the orders often.
  RATE_LIMIT_MAX: '0',
});

/** The payment events of the outbox about one order, oldest first. */
async function eventsOf(database: pg.Pool, orderId: string): Promise<PaymentEvent[]> {
  return (await outboxEntries(database)).map(({ event }) => event).filter((event) => event.data.orderId === orderId);
}

async function reconciled(baseUrl: string, result: 'paid' | 'abandoned'): Promise<number> {
  return sample((await request(baseUrl).get('/metrics').expect(200)).text, 'payments_orders_reconciled_total', { result });
}

async function oldestOpenOrderAge(baseUrl: string): Promise<number> {
  const text = (await request(baseUrl).get('/metrics').expect(200)).text;
  return Number(/^payments_orders_created_oldest_age_seconds (\S+)$/m.exec(text)?.[1]);
}

/** A charge whose connection the test expects to lose when it kills the service. */
function chargeThatDies(baseUrl: string, key: string, body = validCharge()): Promise<string> {
  return charge(baseUrl, key, body).then(
    (response) => `answered ${response.status}`,
    () => 'connection lost',
  );
}

interface Backends {
  /** The Redis. */
  url: string;
  databaseUrl: string;
  /** A vhost of its own on the machine's broker. */
  brokerUrl: string;
  /** A pool on the database, for what the service stored (the outbox). */
  database: pg.Pool;
  processes: ServiceProcess[];
}

/**
 * A redis-server and a database of its own for one describe block (its tests count every order and
 * charge), and the processes its tests start; all stopped (and dropped) after.
 */
function useBackends(): Backends {
  let server: RedisServer | undefined;
  let testDatabase: TestDatabase | undefined;
  let vhost: RabbitMqVhost | undefined;
  let database: pg.Pool | undefined;
  const processes: ServiceProcess[] = [];
  beforeAll(async () => {
    [server, testDatabase, vhost] = await Promise.all([RedisServer.start(), TestDatabase.create(), RabbitMqVhost.create()]);
    database = new pg.Pool({ connectionString: postgresUrl(testDatabase.connection), max: 2 });
  });
  afterAll(async () => {
    await Promise.all(processes.map((process) => process.crash()));
    await database?.end();
    await Promise.all([server?.stop(), testDatabase?.drop(), vhost?.delete()]);
  });
  return {
    get brokerUrl() {
      return vhost!.url;
    },
    get url() {
      return server!.url;
    },
    get databaseUrl() {
      return postgresUrl(testDatabase!.connection);
    },
    get database() {
      return database!;
    },
    processes,
  };
}

/**
 * Attempts nobody retries: the built service is killed (SIGKILL) mid-charge and the client never
 * comes back. The reconciler in the restarted service (its events worker) settles each order with
 * the gateway's own record, and never charges.
 */
describeWithRedisBinary('the reconciler settles attempts nobody retried', () => {
  const backends = useBackends();
  let service: ServiceProcess;

  beforeAll(async () => {
    service = await ServiceProcess.start(serviceEnv(backends));
    backends.processes.push(service);
  });

  afterEach(async () => {
    await setBehavior(service.baseUrl, { minDelayMs: 0, maxDelayMs: 0, preChargeDelayMs: 0 });
  });

  it('killed after the gateway charged: the order becomes PAID with one event, receipt and balance; a later retry answers 201 with that charge', async () => {
    // The gateway records the charge, then waits out its latency: the response never comes back.
    await setBehavior(service.baseUrl, { minDelayMs: 60_000, maxDelayMs: 60_000 });
    const key = newKey('reconcile-charged');
    const customerId = `cus_${key.slice(-12)}`;
    const lost = chargeThatDies(service.baseUrl, key, validCharge({ customerId }));
    await waitFor('the gateway has charged', async () => (await ledger(service.baseUrl, { idempotencyKey: key })).length === 1);
    expect(await orderOf(service.baseUrl, key)).toMatchObject({ status: 'CREATED' });
    await service.crash();
    expect(await lost).toBe('connection lost');

    await service.restart();
    await setBehavior(service.baseUrl, { minDelayMs: 0, maxDelayMs: 0 });
    await waitFor('the order is PAID', async () => (await orderOf(service.baseUrl, key))?.status === 'PAID', SETTLED_WITHIN_MS);

    const [charged] = await ledger(service.baseUrl, { idempotencyKey: key });
    const order = await orderOf(service.baseUrl, key);
    expect(order).toMatchObject({ id: charged!.orderId, status: 'PAID', payment: { chargeId: charged!.id } });
    expect(order!.failure).toBeUndefined();
    const events = await eventsOf(backends.database, order!.id);
    expect(events.map((event) => event.type)).toEqual(['payment.succeeded']);
    await waitUntilAllConsumed(backends.database);
    const receipt = await request(service.baseUrl).get(`/api/orders/${order!.id}/receipt`).expect(200);
    expect(receipt.body).toMatchObject({ chargeId: charged!.id, eventId: events[0]!.id, amount: 1999 });
    expect(await balanceOf(service.baseUrl, customerId)).toEqual([{ currency: 'EUR', amount: 1999, payments: 1 }]);
    expect(await reconciled(service.baseUrl, 'paid')).toBe(1);

    // The client comes back after all: the order's charge, not a new one.
    const retry = await charge(service.baseUrl, key, validCharge({ customerId }));
    expect(retry.status).toBe(201);
    expect(retry.body).toMatchObject({ id: charged!.id, orderId: order!.id });
    expect(await ledger(service.baseUrl, { idempotencyKey: key })).toHaveLength(1);
    expect((await eventsOf(backends.database, order!.id)).map((event) => event.type)).toEqual(['payment.succeeded']);
    const replay = await charge(service.baseUrl, key, validCharge({ customerId })).expect(201);
    expect(replay.headers['idempotency-cached']).toBe('true');
    expect(replay.text).toBe(retry.text);
  });

  it('killed before the gateway was called: the order becomes PAYMENT_FAILED ABANDONED, uncharged; a retry charges once and the order ends PAID', async () => {
    await setBehavior(service.baseUrl, { preChargeDelayMs: 60_000 });
    const key = newKey('reconcile-abandoned');
    const lost = chargeThatDies(service.baseUrl, key);
    await waitFor('the order exists', async () => (await orderOf(service.baseUrl, key)) !== undefined);
    await service.crash();
    expect(await lost).toBe('connection lost');

    await service.restart();
    await setBehavior(service.baseUrl, { preChargeDelayMs: 0 });
    await waitFor('the order is settled', async () => (await orderOf(service.baseUrl, key))?.status === 'PAYMENT_FAILED', SETTLED_WITHIN_MS);
    const abandoned = await orderOf(service.baseUrl, key);
    expect(abandoned!.failure).toMatchObject({ code: 'ABANDONED', retryable: true });
    expect(await ledger(service.baseUrl, { idempotencyKey: key })).toHaveLength(0);
    expect((await eventsOf(backends.database, abandoned!.id)).map((event) => event.type)).toEqual(['payment.failed']);
    expect(await reconciled(service.baseUrl, 'abandoned')).toBe(1);

    const retry = await charge(service.baseUrl, key);
    expect(retry.status).toBe(201);
    expect(retry.body.orderId).toBe(abandoned!.id);
    const charges = await ledger(service.baseUrl, { idempotencyKey: key });
    expect(charges.map((charged) => charged.id)).toEqual([retry.body.id]);
    expect(await orderOf(service.baseUrl, key)).toMatchObject({ id: abandoned!.id, status: 'PAID', payment: { chargeId: retry.body.id } });
    expect((await eventsOf(backends.database, abandoned!.id)).map((event) => event.type)).toEqual(['payment.failed', 'payment.succeeded']);
  });

  it('leaves a live execution slower than the reconcile age alone', async () => {
    const before = { paid: await reconciled(service.baseUrl, 'paid'), abandoned: await reconciled(service.baseUrl, 'abandoned') };
    // Twice the reconcile age before the gateway charges: a reconciler that ignored the lock would abandon the order.
    await setBehavior(service.baseUrl, { preChargeDelayMs: 2 * RECONCILE_AFTER_SECONDS * 1000 });
    const key = newKey('reconcile-live');
    // then() sends the request now (supertest sends on the first then).
    const pending = charge(service.baseUrl, key).then((response) => response);
    // A clock: nothing marks a reconciler pass that leaves an order alone, so the test lets the age and five passes go by.
    await sleep(RECONCILE_AFTER_SECONDS * 1000 + 5 * RECONCILE_INTERVAL_MS);
    expect(await orderOf(service.baseUrl, key)).toMatchObject({ status: 'CREATED' });
    expect(await oldestOpenOrderAge(service.baseUrl)).toBeGreaterThanOrEqual(RECONCILE_AFTER_SECONDS);

    const response = await pending;
    expect(response.status).toBe(201);
    const order = await orderOf(service.baseUrl, key);
    expect(order).toMatchObject({ status: 'PAID', payment: { chargeId: response.body.id } });
    expect((await eventsOf(backends.database, order!.id)).map((event) => event.type)).toEqual(['payment.succeeded']);
    expect(await ledger(service.baseUrl, { idempotencyKey: key })).toHaveLength(1);
    expect({ paid: await reconciled(service.baseUrl, 'paid'), abandoned: await reconciled(service.baseUrl, 'abandoned') }).toEqual(before);
    await waitFor('no order is open any more', async () => (await oldestOpenOrderAge(service.baseUrl)) === 0);
  });
});

/**
 * The gateway's webhooks for a charge whose service died arrive at another instance, which runs no
 * reconciler, before the reconciler starts, while it settles the order, and after. The webhooks
 * record the gateway's status; the order is PAID once, with one event and one receipt.
 */
describeWithRedisBinary('webhooks and the reconciler on one order', () => {
  const backends = useBackends();

  it("webhooks before, during and after the reconciler's pass: one event, one receipt", async () => {
    const withoutReconciler = { ...serviceEnv(backends), EVENTS_WORKER: 'false' };
    const [doomed, receiver] = await Promise.all([ServiceProcess.start(withoutReconciler), ServiceProcess.start(withoutReconciler)]);
    backends.processes.push(doomed!, receiver!);
    await setBehavior(doomed!.baseUrl, { minDelayMs: 60_000, maxDelayMs: 60_000 });
    const key = newKey('reconcile-webhooks');
    const customerId = `cus_${key.slice(-12)}`;
    const lost = chargeThatDies(doomed!.baseUrl, key, validCharge({ customerId }));
    await waitFor('the gateway has charged', async () => (await ledger(doomed!.baseUrl, { idempotencyKey: key })).length === 1);
    await doomed!.crash();
    expect(await lost).toBe('connection lost');
    await setBehavior(receiver!.baseUrl, { minDelayMs: 0, maxDelayMs: 0 });
    const [charged] = await ledger(receiver!.baseUrl, { idempotencyKey: key });

    const deliver = async (type: 'charge.pending' | 'charge.succeeded') => {
      const response = await postWebhook(receiver!.baseUrl, gatewayWebhookFor(type, charged!)).expect(200);
      return response.body.result as string;
    };
    // Before: the order is still CREATED.
    expect(await deliver('charge.pending')).toBe('applied');
    expect(await deliver('charge.succeeded')).toBe('applied');
    // A clock: the reconcile age runs from the attempt's start, which the API does not show; the worker started next must find the order due.
    await sleep(RECONCILE_AFTER_SECONDS * 1000);
    expect((await orderOf(receiver!.baseUrl, key))?.status).toBe('CREATED');
    // During: the reconciler (a standalone worker) starts; a delivery (each a new event) after another until the order is PAID.
    const worker = ServiceProcess.start(serviceEnv(backends), { entry: 'dist/worker.js' });
    const during: string[] = [];
    while ((await orderOf(receiver!.baseUrl, key))?.status !== 'PAID') {
      during.push(await deliver('charge.succeeded'));
      expect(during.length).toBeLessThan(SETTLED_WITHIN_MS);
    }
    backends.processes.push(await worker);
    // After.
    expect(await deliver('charge.succeeded')).toBe('ignored');

    expect(during.length).toBeGreaterThan(0);
    const order = await orderOf(receiver!.baseUrl, key);
    expect(order).toMatchObject({ status: 'PAID', gatewayStatus: 'succeeded', payment: { chargeId: charged!.id } });
    const events = await eventsOf(backends.database, order!.id);
    expect(events.map((event) => event.type)).toEqual(['payment.succeeded']);
    await waitUntilAllConsumed(backends.database);
    const receipt = await request(receiver!.baseUrl).get(`/api/orders/${order!.id}/receipt`).expect(200);
    expect(receipt.body).toMatchObject({ chargeId: charged!.id, eventId: events[0]!.id });
    expect(await balanceOf(receiver!.baseUrl, customerId)).toEqual([{ currency: 'EUR', amount: 1999, payments: 1 }]);
  });
});

/**
 * A backlog of 200 stuck orders (100 the gateway charged, 100 it never saw) left by a killed
 * service, and three reconcilers at once: two services and a standalone worker (npm run worker).
 * Each order is settled once: the reconcile counts, the events and the balance say so.
 */
describeWithRedisBinary('three reconcilers over one backlog', () => {
  const PER_KIND = 100;
  const backends = useBackends();

  it('settles each of 200 stuck orders exactly once', async () => {
    const customerId = `cus_${newKey('backlog').slice(-12)}`;
    const body = validCharge({ customerId });
    // The service that leaves the backlog runs no reconciler: it dies before any order is due anyway.
    const doomed = await ServiceProcess.start({ ...serviceEnv(backends), EVENTS_WORKER: 'false' });
    backends.processes.push(doomed);
    await setBehavior(doomed.baseUrl, { minDelayMs: 60_000, maxDelayMs: 60_000 });
    const chargedKeys = Array.from({ length: PER_KIND }, () => newKey('backlog-charged'));
    const lost = chargedKeys.map((key) => chargeThatDies(doomed.baseUrl, key, body));
    await waitFor('the gateway has charged every first order', async () => (await ledger(doomed.baseUrl)).length === PER_KIND, 30_000);
    await setBehavior(doomed.baseUrl, { minDelayMs: 0, maxDelayMs: 0, preChargeDelayMs: 60_000 });
    const uncharged = Array.from({ length: PER_KIND }, () => newKey('backlog-uncharged'));
    lost.push(...uncharged.map((key) => chargeThatDies(doomed.baseUrl, key, body)));
    await waitFor('every order exists', async () => (await allOrders(doomed.baseUrl)).length === 2 * PER_KIND, 30_000);
    await doomed.crash();
    expect(new Set(await Promise.all(lost))).toEqual(new Set(['connection lost']));

    // Small batches, so the three share the backlog over several sweeps.
    const env = { ...serviceEnv(backends), RECONCILE_BATCH_SIZE: '20' };
    const reconcilers = await Promise.all([ServiceProcess.start(env), ServiceProcess.start(env), ServiceProcess.start(env, { entry: 'dist/worker.js' })]);
    backends.processes.push(...reconcilers);
    const [service] = reconcilers;
    await setBehavior(service!.baseUrl, { preChargeDelayMs: 0 });
    await waitFor('every order is settled', async () => (await allOrders(service!.baseUrl)).every((order) => order.status !== 'CREATED'), 60_000);

    const orders = await allOrders(service!.baseUrl);
    const byKey = new Map(orders.map((order) => [order.idempotencyKey, order]));
    const charges = await ledger(service!.baseUrl);
    expect(charges).toHaveLength(PER_KIND);
    for (const charged of charges) {
      expect(byKey.get(charged.idempotencyKey)).toMatchObject({ id: charged.orderId, status: 'PAID', payment: { chargeId: charged.id } });
    }
    for (const key of uncharged) {
      expect(byKey.get(key)).toMatchObject({ status: 'PAYMENT_FAILED', failure: { code: 'ABANDONED', retryable: true } });
    }

    const counts = async (result: 'paid' | 'abandoned') =>
      (await Promise.all(reconcilers.map((reconciler) => reconciled(reconciler.baseUrl, result)))).reduce((sum, count) => sum + count, 0);
    expect(await counts('paid')).toBe(PER_KIND);
    expect(await counts('abandoned')).toBe(PER_KIND);

    const events = (await outboxEntries(backends.database)).map(({ event }) => event);
    const eventsPerOrder = new Map<string, string[]>();
    for (const event of events) eventsPerOrder.set(event.data.orderId, [...(eventsPerOrder.get(event.data.orderId) ?? []), event.type]);
    for (const order of orders) {
      expect([order.id, eventsPerOrder.get(order.id)]).toEqual([order.id, [order.status === 'PAID' ? 'payment.succeeded' : 'payment.failed']]);
    }
    await waitUntilAllConsumed(backends.database, 30_000);
    expect(await balanceOf(service!.baseUrl, customerId)).toEqual([{ currency: 'EUR', amount: 1999 * PER_KIND, payments: PER_KIND }]);
  });
});
