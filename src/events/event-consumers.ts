import type { INestApplication } from '@nestjs/common';
import { Transport, type MicroserviceOptions } from '@nestjs/microservices';
import type { AppConfig } from '../config/index.js';
import { PROJECTIONS_QUEUE, projectionsQueueOptions } from './payment-events.topology.js';

/** Deliveries a consumer works on at once: enough to keep it busy, few enough to be redelivered quickly after a crash. */
const PREFETCH = 50;

/**
 * The service's consumers of payment events (ProjectionsConsumer) on the broker, in the same
 * process as the HTTP app (a hybrid app): the service's when it runs the events worker, the
 * standalone worker's. Acknowledged by the
 * idempotency layer (`ack: 'manual'`) once each delivery's effect and record are committed. The
 * relay publishes events in their own JSON, not Nest's packet: the AMQP `type` names the pattern.
 */
export async function startEventConsumers(app: INestApplication, config: AppConfig): Promise<void> {
  app.connectMicroservice<MicroserviceOptions>({
    transport: Transport.RMQ,
    options: {
      urls: [config.BROKER_URL],
      queue: PROJECTIONS_QUEUE,
      queueOptions: projectionsQueueOptions(config.EVENTS_MAX_DELIVERIES),
      noAck: false,
      prefetchCount: PREFETCH,
      deserializer: { deserialize: (data: unknown, properties?: { type?: string }) => ({ pattern: properties?.type ?? '', data }) },
    },
  });
  await app.startAllMicroservices();
}
