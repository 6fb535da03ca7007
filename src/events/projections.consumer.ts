import { Controller, Logger } from '@nestjs/common';
import { Ctx, EventPattern, Payload, type RmqContext } from '@nestjs/microservices';
import { Idempotent, IdempotentMessage, type IdempotentMessageContext } from '@idempotent-payments/nestjs-idempotency';
import { AppConfig } from '../config/index.js';
import { Database } from '../database/database.js';
import { eventDuplicatesDropped } from '../metrics/event-duplicates.channel.js';
import { eventsConsumed, eventsDeadLettered } from '../metrics/consumers.channel.js';
import { isPaymentEvent } from './payment-event.js';
import { ProjectionsRepository } from './projections.repository.js';

/**
 * Builds the receipts and balances from the `payment.succeeded` events of the broker, through the
 * idempotency package: a delivery's effect and its record commit in one transaction, so a
 * redelivery (after a crash, a broker restart, a publish repeated by the relay) finds the record
 * and changes nothing. A delivery that fails is requeued; once the queue has delivered it
 * EVENTS_MAX_DELIVERIES times it is dead-lettered, with a log line and a metric.
 */
const CONSUMER = 'projections';

@Controller()
export class ProjectionsConsumer {
  private readonly logger = new Logger(ProjectionsConsumer.name);

  constructor(
    private readonly database: Database,
    private readonly projections: ProjectionsRepository,
    private readonly config: AppConfig,
  ) {}

  // The plain overload: the typed one wants every parameter after the payload to accept `unknown`.
  @EventPattern<string>('payment.succeeded')
  @Idempotent({ inTransaction: true })
  async onPaymentSucceeded(@Payload() event: unknown, @Ctx() context: RmqContext, @IdempotentMessage() message: IdempotentMessageContext): Promise<void> {
    try {
      if (!isPaymentEvent(event)) throw new Error('not a payment event');
      const { replayed } = await this.database.transaction((client) => message.run(() => this.projections.apply(event, client), { transaction: client }));
      if (replayed) eventDuplicatesDropped.publish({ source: 'broker' });
      else eventsConsumed.publish({ consumer: CONSUMER });
    } catch (error) {
      this.reportIfLastDelivery(context, message.key, error);
      throw error;
    }
  }

  /** A quorum queue counts deliveries in `x-delivery-count` (absent on the first). */
  private reportIfLastDelivery(context: RmqContext, eventId: string, error: unknown): void {
    const previous = Number((context.getMessage() as { properties: { headers?: Record<string, unknown> } }).properties.headers?.['x-delivery-count'] ?? 0);
    if (previous + 1 < this.config.EVENTS_MAX_DELIVERIES) return;
    this.logger.error(`Event ${eventId} failed ${previous + 1} deliveries (${error instanceof Error ? error.message : String(error)}); dead-lettered`);
    eventsDeadLettered.publish({ consumer: CONSUMER });
  }
}
