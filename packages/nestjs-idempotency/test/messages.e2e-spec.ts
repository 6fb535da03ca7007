import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { waitFor } from '../../../test/support/wait-for.js';
import type { IdempotencyReport } from '../src/index.js';
import { ChargeClient, DEAD_LETTERS, Ledger, QUEUE, startMessageApp, type MessageApp } from './fixture/message-handlers.js';
import { RabbitVhost, RawPublisher } from './fixture/rabbitmq.js';
import { newKey } from './http-client.js';
import { startStore, type StartedStore, type StoreKindOfItsOwn } from './stores.js';

/**
 * `@Idempotent()` on @EventPattern / @MessagePattern handlers over RabbitMQ (a vhost of this file's
 * own on the machine's broker), on each store; the server runs with noAck: false and the layer
 * settles deliveries (`ack: 'manual'`). Two instances consume the queue and share the store.
 */
describe.each<StoreKindOfItsOwn>(['memory', 'redis', 'postgres'])('message handlers on RabbitMQ with the %s store', (storeKind) => {
  let vhost: RabbitVhost;
  let started: StartedStore | undefined;
  const ledger = new Ledger();
  const reports: IdempotencyReport['outcome'][] = [];
  const instances: MessageApp[] = [];
  let publisher: RawPublisher;
  let client: ChargeClient;

  beforeAll(async () => {
    vhost = await RabbitVhost.create();
    started = await startStore(storeKind);
    const { store } = started;
    publisher = await RawPublisher.open(vhost.url, [DEAD_LETTERS]);
    const module = { store, messages: { ack: 'manual' as const }, onOutcome: (report: IdempotencyReport) => void reports.push(report.outcome) };
    // Two instances on one queue and one store, as two replicas of a consumer are.
    for (let index = 0; index < 2; index++) instances.push(await startMessageApp({ url: vhost.url, module, ledger }));
    client = await ChargeClient.open(vhost.url);
  });

  afterAll(async () => {
    await client?.close();
    await publisher?.close();
    for (const instance of instances) await instance.close();
    await started?.close();
    await vhost?.delete();
  });

  const drained = async () => {
    const { ready, unacked } = await vhost.queueCounts(QUEUE);
    return ready === 0 && unacked === 0;
  };

  it('runs a message published twice once, and settles both deliveries', async () => {
    const key = newKey('evt');
    await publisher.publish(QUEUE, { pattern: 'payment.succeeded', data: { amount: 5 }, headers: { 'Idempotency-Key': key } });
    await waitFor('the first delivery applied', async () => ledger.count(`succeeded:${key}`) === 1);
    const replaysBefore = reports.filter((outcome) => outcome === 'replay').length;
    await publisher.publish(QUEUE, { pattern: 'payment.succeeded', data: { amount: 5 }, headers: { 'idempotency-key': key } });
    // Both handlers of the event (succeeded and audit) see the duplicate and skip it.
    await waitFor('the duplicate skipped by both handlers', async () => reports.filter((outcome) => outcome === 'replay').length >= replaysBefore + 2);
    await waitFor('the queue drained', drained);
    expect(ledger.count(`succeeded:${key}`)).toBe(1);
    expect(ledger.count(`audit:${key}`)).toBe(1);
    expect(ledger.entered.filter((entry) => entry === `succeeded:${key}`)).toHaveLength(1);
  });

  it('runs a message delivered twice while the first still runs once: the duplicate waits, then is settled', async () => {
    const key = newKey('evt');
    const { started, release } = ledger.hold(key);
    const message = { pattern: 'payment.refunded', data: { amount: 7 }, headers: { 'Idempotency-Key': key } };
    const conflicts = () => reports.filter((outcome) => outcome === 'conflict').length;
    const conflictsBefore = conflicts();
    await publisher.publish(QUEUE, message);
    await started;
    await publisher.publish(QUEUE, message);
    await publisher.publish(QUEUE, message);
    await waitFor('both duplicates delivered and held', async () => (await vhost.queueCounts(QUEUE)).unacked === 3);
    expect(ledger.entered.filter((entry) => entry === `refunded:${key}`)).toHaveLength(1);
    release();
    await waitFor('the queue drained', drained);
    expect(ledger.count(`refunded:${key}`)).toBe(1);
    expect(ledger.entered.filter((entry) => entry === `refunded:${key}`)).toHaveLength(1);
    // They waited (the module's waitTimeoutMs is HTTP's 0): none was refused as in progress and requeued.
    expect(conflicts()).toBe(conflictsBefore);
  });

  it('loses no message when the first delivery fails while a duplicate waits: the duplicate runs it', async () => {
    const key = newKey('evt');
    const { started, release } = ledger.hold(key);
    ledger.failures.add(key);
    const message = { pattern: 'payment.refunded', data: { amount: 8 }, headers: { 'Idempotency-Key': key } };
    await publisher.publish(QUEUE, message);
    await started;
    await publisher.publish(QUEUE, message);
    await waitFor('the duplicate delivered and held', async () => (await vhost.queueCounts(QUEUE)).unacked === 2);
    release();
    await waitFor('applied once', async () => ledger.count(`refunded:${key}`) === 1);
    // The failed delivery was requeued; it comes back as a duplicate of the one that ran.
    await waitFor('the queue drained', drained);
    expect(ledger.count(`refunded:${key}`)).toBe(1);
    expect(ledger.entered.filter((entry) => entry === `refunded:${key}`)).toHaveLength(2);
  });

  it('runs nothing for an event without a key, and dead-letters it', async () => {
    const entered = ledger.entered.length;
    await publisher.publish(QUEUE, { pattern: 'payment.succeeded', data: { amount: 9, note: 'no key' } });
    await waitFor('the message dead-lettered', async () => (await publisher.take(DEAD_LETTERS))?.data !== undefined);
    await waitFor('the queue drained', drained);
    expect(ledger.entered.length).toBe(entered);
  });

  it('answers a request without a key with an RpcException and runs nothing', async () => {
    const entered = ledger.entered.length;
    await expect(client.send('charge.create', { amount: 3 })).rejects.toMatchObject({
      status: 'error',
      statusCode: 400,
      code: 'IDEMPOTENCY_KEY_MISSING',
    });
    await expect(client.send('charge.create', { amount: 3 }, { 'Idempotency-Key': 'two words' })).rejects.toMatchObject({ code: 'IDEMPOTENCY_KEY_INVALID' });
    expect(ledger.entered.length).toBe(entered);
    await waitFor('the queue drained', drained);
  });

  it('takes the key from the payload path when there is no header', async () => {
    const eventId = newKey('order');
    const message = { pattern: 'order.paid', data: { order: { eventId, total: 12 } } };
    await publisher.publish(QUEUE, message);
    await publisher.publish(QUEUE, message);
    await waitFor('applied', async () => ledger.count(`order-paid:${eventId}`) === 1);
    await waitFor('the queue drained', drained);
    expect(ledger.count(`order-paid:${eventId}`)).toBe(1);
    // The header wins over the payload.
    const header = newKey('hdr');
    await publisher.publish(QUEUE, { ...message, headers: { 'Idempotency-Key': header } });
    await waitFor('applied under the header key', async () => ledger.count(`order-paid:${header}`) === 1);
  });

  it('scopes keys by pattern: the same key on two patterns runs both', async () => {
    const key = newKey('evt');
    await publisher.publish(QUEUE, { pattern: 'payment.succeeded', data: { amount: 1 }, headers: { 'Idempotency-Key': key } });
    await publisher.publish(QUEUE, { pattern: 'payment.refunded', data: { amount: 1 }, headers: { 'Idempotency-Key': key } });
    await waitFor('both applied', async () => ledger.count(`succeeded:${key}`) === 1 && ledger.count(`refunded:${key}`) === 1);
    await waitFor('the queue drained', drained);
  });

  it('replays the stored reply of a @MessagePattern handler; another payload under the key is refused', async () => {
    const key = newKey('req');
    const first = await client.send<{ id: string; amount: number }>('charge.create', { amount: 42 }, { 'Idempotency-Key': key });
    const again = await client.send('charge.create', { amount: 42 }, { 'Idempotency-Key': key });
    expect(again).toEqual(first);
    expect(first.amount).toBe(42);
    expect(ledger.count(`charge:${key}`)).toBe(1);
    await expect(client.send('charge.create', { amount: 43 }, { 'Idempotency-Key': key })).rejects.toMatchObject({
      statusCode: 422,
      code: 'IDEMPOTENCY_KEY_REUSED',
    });
    expect(ledger.count(`charge:${key}`)).toBe(1);
    await waitFor('the queue drained', drained);
  });
});
