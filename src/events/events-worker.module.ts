import { Module } from '@nestjs/common';
import { PaymentsReconcilerModule } from '../payments/payments-reconciler.module.js';
import { EventPublisher } from './event-publisher.js';
import { OutboxRelay } from './outbox-relay.js';
import { RabbitMqEventPublisher } from './rabbitmq-event-publisher.js';

/**
 * The relay of the outbox to the broker and the reconciler of orders nobody finished: in the
 * service (EVENTS_WORKER=true) or alone (src/worker.ts).
 */
@Module({
  imports: [PaymentsReconcilerModule],
  providers: [OutboxRelay, RabbitMqEventPublisher, { provide: EventPublisher, useExisting: RabbitMqEventPublisher }],
})
export class EventsWorkerModule {}
