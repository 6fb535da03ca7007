import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import amqplib, { type ChannelModel, type ConfirmChannel } from 'amqplib';
import { randomBytes } from 'node:crypto';
import { answersOk, RabbitMqVhost, runToSuccess, ServiceProcess, TestDatabase } from '../harness/index.js';
import { waitFor } from '../support/wait-for.js';

const EXAMPLE = 'examples/ledger-consumer';
const EXCHANGE = 'payments.events';
const QUEUE = 'ledger-example.payments';
const DEAD_LETTER_QUEUE = 'ledger-example.payments.dead-letter';

interface Ledger {
  totals: { currency: string; amount: number; entries: number }[];
  entries: { eventId: string; amount: number; currency: string; orderId: string }[];
}

/** A `payment.succeeded` body exactly as the payments service publishes it. */
function paymentSucceeded(amount: number, currency = 'EUR') {
  const id = `evt_${randomBytes(16).toString('hex')}`;
  return {
    id,
    type: 'payment.succeeded',
    occurredAt: new Date().toISOString(),
    data: {
      orderId: `ord_${randomBytes(8).toString('hex')}`,
      owner: 'merchantA',
      customerId: 'cus_42',
      amount,
      currency,
      chargeId: `ch_${randomBytes(8).toString('hex')}`,
    },
  };
}

type PaymentEvent = ReturnType<typeof paymentSucceeded>;

/**
 * The payments service's side of the contract: the `payments.events` topic exchange, routing key
 * and `type` = the event type, `messageId` and `Idempotency-Key` = the event id, persistent JSON.
 * Confirmed and mandatory: a message that reached no queue fails the test instead of vanishing.
 */
class PaymentsPublisher {
  private readonly returned: string[] = [];

  private constructor(
    private readonly connection: ChannelModel,
    private readonly channel: ConfirmChannel,
  ) {
    channel.on('return', (message: { properties: { messageId?: string } }) => this.returned.push(String(message.properties.messageId)));
  }

  static async open(url: string): Promise<PaymentsPublisher> {
    const connection = await amqplib.connect(url);
    const channel = await connection.createConfirmChannel();
    await channel.assertExchange(EXCHANGE, 'topic', { durable: true });
    return new PaymentsPublisher(connection, channel);
  }

  /** Publishes each event in one go (copies of one event are then in flight together) and waits for the broker's confirms. */
  async publish(
    events: PaymentEvent[],
    headers: (event: PaymentEvent) => Record<string, string> = (event) => ({ 'Idempotency-Key': event.id }),
  ): Promise<void> {
    for (const event of events) {
      this.channel.publish(EXCHANGE, event.type, Buffer.from(JSON.stringify(event)), {
        persistent: true,
        mandatory: true,
        contentType: 'application/json',
        messageId: event.id,
        type: event.type,
        headers: headers(event),
      });
    }
    await this.channel.waitForConfirms();
    expect(this.returned).toEqual([]);
  }

  /** How many messages a queue holds, taking them. */
  async drain(queue: string): Promise<number> {
    let taken = 0;
    while ((await this.channel.get(queue, { noAck: true })) !== false) taken++;
    return taken;
  }

  async close(): Promise<void> {
    await this.connection.close().catch(() => undefined);
  }
}

/**
 * The example consumer (examples/ledger-consumer), built and run as its own process the way
 * `npm run example:ledger` runs it, against a vhost and a database of this file's own; the
 * payments service's messages published with amqplib. Every event is in the ledger once, however
 * often and however concurrently it is delivered.
 */
describe('the example consumer: a ledger of payment.succeeded, once per event', () => {
  let vhost: RabbitMqVhost | undefined;
  let database: TestDatabase | undefined;
  let example: ServiceProcess | undefined;
  let publisher: PaymentsPublisher;

  beforeAll(async () => {
    [vhost, database] = await Promise.all([
      RabbitMqVhost.create(),
      TestDatabase.create(),
      runToSuccess(process.execPath, ['node_modules/typescript/bin/tsc', '-p', `${EXAMPLE}/tsconfig.build.json`], { name: 'tsc (the example)' }),
    ]);
    example = await ServiceProcess.start(
      { BROKER_URL: vhost.url, DATABASE_URL: database.url, LOG_LEVEL: undefined },
      { entry: `${EXAMPLE}/dist/main.js`, name: 'ledger example', isReady: (service) => answersOk(`${service.baseUrl}/ledger`) },
    );
    publisher = await PaymentsPublisher.open(vhost.url);
  });

  afterAll(async () => {
    await publisher?.close();
    await example?.stop();
    await database?.drop();
    await vhost?.delete();
  });

  const ledger = async (): Promise<Ledger> => {
    const response = await fetch(`${example!.baseUrl}/ledger`);
    expect(response.status).toBe(200);
    return (await response.json()) as Ledger;
  };
  const entriesOf = async (event: PaymentEvent) => (await ledger()).entries.filter((entry) => entry.eventId === event.id);
  /** Every delivery settled: nothing ready, nothing delivered and unacknowledged. */
  const drained = async () => {
    const out = await runToSuccess('rabbitmqctl', [
      '--quiet',
      'list_queues',
      '-p',
      vhost!.name,
      '--no-table-headers',
      'name',
      'messages_ready',
      'messages_unacknowledged',
    ]);
    const line = out.split('\n').find((row) => row.trim().split(/\s+/)[0] === QUEUE);
    return line !== undefined && line.trim().split(/\s+/).slice(1).join(' ') === '0 0';
  };

  it('records each event once, the same event published twice included, and totals per currency', async () => {
    const first = paymentSucceeded(1999);
    const second = paymentSucceeded(501);
    const dollars = paymentSucceeded(1250, 'USD');
    await publisher.publish([first, second, dollars]);
    await waitFor('the three events in the ledger', async () => (await ledger()).entries.length === 3);
    // The payments service publishing the same event again (a relay retry after a lost confirm).
    await publisher.publish([first]);
    await waitFor('the republished event settled', drained);

    const { totals, entries } = await ledger();
    expect(entries.map((entry) => entry.eventId).sort()).toEqual([first.id, second.id, dollars.id].sort());
    expect(await entriesOf(first)).toEqual([expect.objectContaining({ amount: 1999, currency: 'EUR', orderId: first.data.orderId })]);
    expect(totals).toEqual([
      { currency: 'EUR', amount: 1999 + 501, entries: 2 },
      { currency: 'USD', amount: 1250, entries: 1 },
    ]);
  });

  it('records an event once when two copies arrive together', async () => {
    const event = paymentSucceeded(700);
    await publisher.publish([event, event]);
    await waitFor('the event in the ledger', async () => (await entriesOf(event)).length > 0);
    await waitFor('both copies settled', drained);

    expect(await entriesOf(event)).toHaveLength(1);
    expect((await ledger()).totals).toEqual([
      { currency: 'EUR', amount: 1999 + 501 + 700, entries: 3 },
      { currency: 'USD', amount: 1250, entries: 1 },
    ]);
  });

  it('records nothing for a message without an Idempotency-Key: it goes to the dead-letter queue', async () => {
    const before = await ledger();
    const keyless = paymentSucceeded(999);
    await publisher.publish([keyless], () => ({}));
    let deadLettered = 0;
    await waitFor('the keyless message dead-lettered', async () => (deadLettered += await publisher.drain(DEAD_LETTER_QUEUE)) === 1);
    await waitFor('the queue drained', drained);

    expect(await ledger()).toEqual(before);
  });
});
