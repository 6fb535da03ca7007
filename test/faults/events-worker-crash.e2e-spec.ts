import { afterAll, afterEach, beforeAll, expect, it } from '@jest/globals';
import type { PoolClient } from 'pg';
import request from 'supertest';
import { RedisServer, runToSuccess, ServiceProcess } from '../harness/index.js';
import { describeWithRedisBinary } from '../support/redis.js';
import { fileDatabaseUrl } from '../support/database.js';
import { fileBrokerUrl } from '../support/broker.js';
import { balanceOf, outboxEntries, waitUntilAllConsumed } from '../support/events-client.js';
import { duplicatesDropped } from '../support/metrics.js';
import { charge, newKey, validCharge } from '../support/payments-client.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { waitFor } from '../support/wait-for.js';

/** The window between the broker's confirm of a batch and the relay's commit that the worker is killed in. */
const ACK_DELAY_MS = 4000;

/**
 * The events worker (dist/worker.js: the relay and the projections' consumer) runs as its own
 * process and is killed with SIGKILL: once after the broker confirmed a batch but before the relay
 * committed it, once while its consumer holds deliveries it has not acknowledged. The service
 * (in-process, no worker of its own) keeps charging. Either way the events arrive again and the
 * projections change exactly once.
 */
describeWithRedisBinary('an events worker killed mid-batch', () => {
  let redis: RedisServer;
  let service: TestApp;
  let worker: ServiceProcess | undefined;
  let blocker: PoolClient | undefined;

  /** Unpublished events that no transaction holds: a relay's batch holds its rows locked until it commits. */
  const unpublishedAndFree = async () =>
    (await service.database.query('SELECT id FROM payment_events WHERE published_at IS NULL FOR UPDATE SKIP LOCKED')).rowCount;
  const unpublished = async () => (await outboxEntries(service.database)).filter((entry) => entry.publishedAt === null).length;
  const consumedOf = async (eventIds: string[]) =>
    (
      await service.database.query<{ n: number }>(`SELECT count(*)::int AS n FROM consumed_events WHERE consumer = 'projections' AND event_id = ANY($1)`, [
        eventIds,
      ])
    ).rows[0]!.n;
  const eventIdsOf = async (orderIds: string[]) =>
    (await outboxEntries(service.database)).filter((entry) => orderIds.includes(entry.event.data.orderId)).map((entry) => entry.event.id);

  const startWorker = async (env: Record<string, string> = {}) =>
    ServiceProcess.start(
      { REDIS_URL: redis.url, DATABASE_URL: await fileDatabaseUrl(), BROKER_URL: await fileBrokerUrl(), LOG_LEVEL: 'error', ...env },
      { entry: 'dist/worker.js', name: 'events worker' },
    );

  const chargeFor = async (customerId: string, amounts: number[]) => {
    const paid: Array<{ id: string; orderId: string; amount: number }> = [];
    for (const amount of amounts) paid.push((await charge(service.baseUrl, newKey('worker-crash'), validCharge({ customerId, amount })).expect(201)).body);
    return paid;
  };

  const expectReceipts = async (paid: Array<{ id: string; orderId: string; amount: number }>) => {
    for (const { id, orderId, amount } of paid) {
      const receipt = await request(service.baseUrl).get(`/api/orders/${orderId}/receipt`).expect(200);
      expect(receipt.body).toMatchObject({ chargeId: id, amount });
    }
  };

  beforeAll(async () => {
    redis = await RedisServer.start();
    service = await startTestApp(redis.url, { EVENTS_WORKER: 'false', WEBHOOK_DELIVERY: 'false' });
  });

  afterEach(async () => {
    await blocker?.query('ROLLBACK').catch(() => undefined);
    blocker?.release();
    blocker = undefined;
    await worker?.crash();
    worker = undefined;
  });

  afterAll(async () => {
    await service?.close();
    await redis?.stop();
  });

  it('publishes the batch again after the relay died between the confirm and its commit, and the projections change exactly once', async () => {
    const customerId = 'cus_crash_relay';
    // Three events written while no worker runs, so the worker takes them in one batch.
    const paid = await chargeFor(customerId, [1000, 200, 30]);
    const events = await eventIdsOf(paid.map(({ orderId }) => orderId));
    expect(await unpublished()).toBe(3);

    worker = await startWorker({ EVENTS_ACK_DELAY_MS: String(ACK_DELAY_MS) });
    // Confirmed by the broker (its consumer applied them), not yet committed: the relay holds the three rows locked.
    await waitFor('the broker has the batch while the relay holds it', async () => (await consumedOf(events)) === 3 && (await unpublishedAndFree()) === 0);
    expect(await unpublished()).toBe(3);
    await worker.crash();

    // The dead relay's transaction rolled back: nothing marked published, the rows free again.
    await waitFor('the batch is free again', async () => (await unpublishedAndFree()) === 3);
    expect(await balanceOf(service.baseUrl, customerId)).toEqual([{ currency: 'EUR', amount: 1230, payments: 3 }]);

    await worker.restart();
    await waitUntilAllConsumed(service.database, ACK_DELAY_MS + 10_000);
    // Published again, delivered again, dropped: the restarted worker counts the three.
    await waitFor('the three deliveries again are dropped as duplicates', async () => (await duplicatesDropped(worker!.baseUrl, 'broker')) === 3);
    expect(await balanceOf(service.baseUrl, customerId)).toEqual([{ currency: 'EUR', amount: 1230, payments: 3 }]);
    await expectReceipts(paid);
  });

  it('redelivers what a consumer killed with unacknowledged deliveries held, and applies each once', async () => {
    const free = 'cus_crash_consumer_free';
    const blocked = 'cus_crash_consumer_blocked';
    // The blocked customer's balance row exists, so a transaction of this test can hold it.
    worker = await startWorker();
    const first = await chargeFor(blocked, [5]);
    await waitUntilAllConsumed(service.database);
    await worker.crash();

    const paidFree = await chargeFor(free, [11, 22, 33, 44]);
    const paidBlocked = await chargeFor(blocked, [100, 200, 300, 400, 500, 600]);
    const blockedEvents = await eventIdsOf(paidBlocked.map(({ orderId }) => orderId));
    // Holds the blocked customer's balance: the consumer's transactions for it wait (unacknowledged) until this one ends.
    blocker = await service.database.connect();
    await blocker.query('BEGIN');
    await blocker.query('SELECT amount FROM balances WHERE customer_id = $1 FOR UPDATE', [blocked]);

    // A statement timeout longer than the test holds the row, so no delivery fails meanwhile.
    worker = await startWorker({ DATABASE_STATEMENT_TIMEOUT_MS: '30000' });
    await waitFor('the free customer is consumed', async () => (await consumedOf(await eventIdsOf(paidFree.map(({ orderId }) => orderId)))) === 4);
    // The six deliveries are in the consumer's hands, unacknowledged, each transaction waiting for the row (the broker's count lags a little).
    const vhost = new URL(await fileBrokerUrl()).pathname.slice(1);
    const unacknowledged = async () => {
      const queues = await runToSuccess('rabbitmqctl', ['list_queues', '-q', '--no-table-headers', '-p', vhost, 'name', 'messages_unacknowledged']);
      return Number(/^payments\.projections\s+(\d+)$/m.exec(queues)?.[1]);
    };
    await waitFor('the broker counts 6 unacknowledged deliveries', async () => (await unacknowledged()) === 6, 20_000);
    const waiting = await service.database.query(
      `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'WITH input AS%'`,
    );
    expect(waiting.rowCount).toBe(6);
    expect(await consumedOf(blockedEvents)).toBe(0);
    await worker.crash();
    await blocker.query('ROLLBACK');
    blocker.release();
    blocker = undefined;

    await worker.restart();
    await waitUntilAllConsumed(service.database);
    expect(await balanceOf(service.baseUrl, free)).toEqual([{ currency: 'EUR', amount: 110, payments: 4 }]);
    expect(await balanceOf(service.baseUrl, blocked)).toEqual([{ currency: 'EUR', amount: 2105, payments: 7 }]);
    await expectReceipts([...first, ...paidFree, ...paidBlocked]);
  });
});
