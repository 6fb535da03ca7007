import { Module } from '@nestjs/common';
import { PaymentsReconcilerModule } from '../payments/payments-reconciler.module.js';
import { EventPublisher } from './event-publisher.js';
import { OutboxRelay } from './outbox-relay.js';
import { ProjectionsConsumer } from './projections.consumer.js';
import { ProjectionsModule } from './projections.module.js';
import { RabbitMqEventPublisher } from './rabbitmq-event-publisher.js';

/**
 * The relay of the outbox to the broker, the consumer that builds the projections from it (a
 * microservice handler: startEventConsumers) and the reconciler of orders nobody finished: in the
 * service (EVENTS_WORKER=true) or alone (src/worker.ts).
 */
@Module({
  imports: [ProjectionsModule, PaymentsReconcilerModule],
  controllers: [ProjectionsConsumer],
  providers: [OutboxRelay, RabbitMqEventPublisher, { provide: EventPublisher, useExisting: RabbitMqEventPublisher }],
})
export class EventsWorkerModule {}
