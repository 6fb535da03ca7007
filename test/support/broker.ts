import amqplib from 'amqplib';
import { PAYMENT_EVENTS_EXCHANGE } from '../../src/events/payment-events.topology.js';
import { RabbitMqVhost } from '../harness/index.js';

let fileVhost: Promise<RabbitMqVhost> | undefined;

/** The RabbitMQ vhost of this test file, created on first use and deleted after the file's tests (test/support/stop-processes.ts). */
export async function fileBrokerUrl(): Promise<string> {
  fileVhost ??= RabbitMqVhost.create();
  return (await fileVhost).url;
}

export async function deleteFileVhost(): Promise<void> {
  const vhost = fileVhost;
  fileVhost = undefined;
  await (await vhost?.catch(() => undefined))?.delete();
}

export interface HandPublished {
  /** The message's body: JSON of any value, or raw bytes. */
  body: unknown;
  /** Its messageId and Idempotency-Key header, as the relay sets them from the event id. */
  id: string;
  /** The routing key and AMQP type (the consumers' pattern); payment.succeeded by default. */
  type?: string;
}

/**
 * Publishes messages to the payment events exchange by hand, with amqplib and publisher confirms,
 * shaped as the relay shapes its own (persistent, messageId and Idempotency-Key = the id, type =
 * the routing key): duplicates and poison messages the relay would never send.
 */
export async function publishByHand(brokerUrl: string, messages: HandPublished[]): Promise<void> {
  const connection = await amqplib.connect(brokerUrl);
  try {
    const channel = await connection.createConfirmChannel();
    for (const { body, id, type = 'payment.succeeded' } of messages) {
      channel.publish(PAYMENT_EVENTS_EXCHANGE, type, Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body)), {
        persistent: true,
        messageId: id,
        type,
        contentType: 'application/json',
        headers: { 'Idempotency-Key': id },
      });
    }
    await channel.waitForConfirms();
  } finally {
    await connection.close();
  }
}

/**
 * What a service process of a test on a broker node of its own runs with: that broker (a publish
 * that fails fast while it is down), no rate limit, no webhook deliveries.
 */
export function ownBrokerServiceEnv(backends: { redisUrl: string; databaseUrl: string; brokerUrl: string }): Record<string, string> {
  return {
    REDIS_URL: backends.redisUrl,
    DATABASE_URL: backends.databaseUrl,
    BROKER_URL: backends.brokerUrl,
    BROKER_PUBLISH_TIMEOUT_MS: '1000',
    RATE_LIMIT_MAX: '0',
    WEBHOOK_DELIVERY: 'false',
  };
}
