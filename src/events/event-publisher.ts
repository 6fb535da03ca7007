import type { PaymentEvent } from './payment-event.js';

/**
 * Where the outbox relay sends payment events: the port (an abstract class, so that it is its own
 * DI token). RabbitMqEventPublisher is the one bound in EventsWorkerModule.
 */
export abstract class EventPublisher {
  /**
   * Resolves once the broker has taken responsibility for every event (stored them durably);
   * rejects if it did not for any of them, or not in time. The relay marks events published only
   * after that.
   */
  abstract publish(events: readonly PaymentEvent[]): Promise<void>;
}
