import type { Channel, Options } from 'amqplib';

/** Where every payment event is published, routed by its type (`payment.succeeded`, `payment.failed`). */
export const PAYMENT_EVENTS_EXCHANGE = 'payments.events';
/** Where a queue sends what its consumers gave up on. */
export const DEAD_LETTER_EXCHANGE = 'payments.events.dead-letter';
/** The service's own consumer: receipts and balances. */
export const PROJECTIONS_QUEUE = 'payments.projections';
export const PROJECTIONS_DEAD_LETTER_QUEUE = 'payments.projections.dead-letter';

/**
 * A quorum queue (replicated, durable) that dead-letters a message once it has been delivered
 * `maxDeliveries` times without being acknowledged: a poison message leaves after bounded retries
 * instead of looping forever. The relay and the consumer declare it with the same arguments (the
 * broker refuses a second declaration that differs).
 */
export function projectionsQueueOptions(maxDeliveries: number): Options.AssertQueue {
  return {
    durable: true,
    // The broker's limit counts returns, not deliveries: a message is dead-lettered once it has been returned more than
    // `x-delivery-limit` times, i.e. after limit + 1 deliveries.
    arguments: { 'x-queue-type': 'quorum', 'x-delivery-limit': maxDeliveries - 1, 'x-dead-letter-exchange': DEAD_LETTER_EXCHANGE },
  };
}

/**
 * Declares the exchanges and the service's queues. The relay does it before it publishes, so an
 * event published before any consumer ever ran waits in its queue rather than being dropped as
 * unroutable.
 */
export async function assertPaymentEventsTopology(channel: Channel, maxDeliveries: number): Promise<void> {
  await channel.assertExchange(PAYMENT_EVENTS_EXCHANGE, 'topic', { durable: true });
  await channel.assertExchange(DEAD_LETTER_EXCHANGE, 'fanout', { durable: true });
  await channel.assertQueue(PROJECTIONS_QUEUE, projectionsQueueOptions(maxDeliveries));
  // The projections are made of successes only: a payment.failed reaches the consumers that bind it (none here).
  await channel.bindQueue(PROJECTIONS_QUEUE, PAYMENT_EVENTS_EXCHANGE, 'payment.succeeded');
  await channel.assertQueue(PROJECTIONS_DEAD_LETTER_QUEUE, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  await channel.bindQueue(PROJECTIONS_DEAD_LETTER_QUEUE, DEAD_LETTER_EXCHANGE, '');
}
