import { Transport, type RmqOptions } from '@nestjs/microservices';
import amqplib from 'amqplib';
import { PaymentEventDeserializer } from './payment-event.deserializer.js';
import { PAYMENT_EVENTS_EXCHANGE } from './payment-event.js';

/** This team's own queue on the payments exchange: the service's queues and other teams' are not touched. */
export const LEDGER_QUEUE = 'ledger-example.payments';
/** Where a message goes that is rejected (no type, no key) or failed `MAX_DELIVERIES` times. */
export const LEDGER_DEAD_LETTER_QUEUE = 'ledger-example.payments.dead-letter';
const MAX_DELIVERIES = 5;

/**
 * Nest's RMQ server, set up for the payments service's events:
 * - `exchange` + `wildcards: true`: it asserts `payments.events` (topic, durable, as the service
 *   declares it) and binds the queue to it with each handler's pattern as routing key, so the
 *   queue receives `payment.succeeded` (and whatever pattern a handler is added for) only;
 * - a durable quorum queue with a delivery limit, dead-lettering through the default exchange to
 *   `LEDGER_DEAD_LETTER_QUEUE`;
 * - `noAck: false`, the idempotency layer acking after the outcome is stored (`ack: 'manual'`);
 * - the events' own format read by `PaymentEventDeserializer`.
 */
export function ledgerServerOptions(brokerUrl: string): RmqOptions {
  return {
    transport: Transport.RMQ,
    options: {
      urls: [brokerUrl],
      queue: LEDGER_QUEUE,
      queueOptions: {
        durable: true,
        arguments: {
          'x-queue-type': 'quorum',
          'x-delivery-limit': MAX_DELIVERIES,
          'x-dead-letter-exchange': '',
          'x-dead-letter-routing-key': LEDGER_DEAD_LETTER_QUEUE,
        },
      },
      exchange: PAYMENT_EVENTS_EXCHANGE,
      exchangeType: 'topic',
      wildcards: true,
      noAck: false,
      prefetchCount: 20,
      deserializer: new PaymentEventDeserializer(),
    },
  };
}

/** The dead-letter queue must exist before anything is dead-lettered to it; Nest's server declares only its own queue. */
export async function declareDeadLetterQueue(brokerUrl: string): Promise<void> {
  const connection = await amqplib.connect(brokerUrl);
  try {
    const channel = await connection.createChannel();
    await channel.assertQueue(LEDGER_DEAD_LETTER_QUEUE, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    await channel.close();
  } finally {
    await connection.close();
  }
}
