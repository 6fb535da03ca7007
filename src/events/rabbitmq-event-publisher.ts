import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import amqp, { type AmqpConnectionManager, type ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel } from 'amqplib';
import { AppConfig } from '../config/index.js';
import { EventPublisher } from './event-publisher.js';
import type { PaymentEvent } from './payment-event.js';
import { PAYMENT_EVENTS_EXCHANGE, assertPaymentEventsTopology } from './payment-events.topology.js';

/**
 * Payment events on RabbitMQ: persistent messages on the durable topic exchange, routed by type,
 * each carrying its event id as `messageId` and as an `Idempotency-Key` header (consumers
 * deduplicate on it), confirmed by the broker (a confirm channel) before `publish` resolves. The
 * connection reconnects by itself; while the broker is away, `publish` rejects after
 * BROKER_PUBLISH_TIMEOUT_MS and the events wait in the outbox.
 */
@Injectable()
export class RabbitMqEventPublisher extends EventPublisher implements OnModuleDestroy {
  private readonly logger = new Logger(RabbitMqEventPublisher.name);
  private readonly connection: AmqpConnectionManager;
  private readonly channel: ChannelWrapper;

  constructor(config: AppConfig) {
    super();
    this.connection = amqp.connect([config.BROKER_URL], { heartbeatIntervalInSeconds: 5, reconnectTimeInSeconds: 1 });
    let reported = false;
    this.connection.on('connect', () => {
      if (reported) this.logger.log('The broker is reachable again');
      reported = false;
    });
    this.connection.on('disconnect', ({ err }) => {
      if (!reported) this.logger.warn(`The broker is unreachable (${err.message}); events wait in the outbox`);
      reported = true;
    });
    this.channel = this.connection.createChannel({
      name: 'payments:relay',
      confirm: true,
      publishTimeout: config.BROKER_PUBLISH_TIMEOUT_MS,
      setup: (channel: ConfirmChannel) => assertPaymentEventsTopology(channel, config.EVENTS_MAX_DELIVERIES),
    });
    // A setup cut short (the channel closed under it: the broker went away, or the app is closing)
    // is emitted as 'error', which would end the process without a listener; the next connect sets up again.
    this.channel.on('error', (error: Error) =>
      this.logger.warn(`Setting up the relay's channel failed (${error.message}); it is set up again on the next connect`),
    );
  }

  async publish(events: readonly PaymentEvent[]): Promise<void> {
    await Promise.all(
      events.map((event) =>
        this.channel.publish(PAYMENT_EVENTS_EXCHANGE, event.type, Buffer.from(JSON.stringify(event)), {
          persistent: true,
          messageId: event.id,
          type: event.type,
          contentType: 'application/json',
          timestamp: Math.floor(Date.parse(event.occurredAt) / 1000),
          headers: { 'Idempotency-Key': event.id },
        }),
      ),
    );
  }

  async onModuleDestroy(): Promise<void> {
    await this.channel.close().catch(() => undefined);
    await this.connection.close().catch(() => undefined);
  }
}
