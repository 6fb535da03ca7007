import type { ConsumerDeserializer, IncomingEvent } from '@nestjs/microservices';

/** The AMQP properties Nest's RMQ server passes to its deserializer with the parsed body. */
interface AmqpProperties {
  type?: string;
}

/**
 * The payments service publishes plain events, not Nest's `{ pattern, data }` packets: the pattern
 * is the message's AMQP `type` property (the event type, also its routing key) and the data is the
 * whole body. ServerRMQ calls `deserialize(JSON.parse(content), message.properties)` and treats a
 * packet without `id` as an event. A message without a type gets no pattern a handler has, so the
 * server rejects it without requeueing (to the queue's dead-letter queue).
 */
export class PaymentEventDeserializer implements ConsumerDeserializer {
  deserialize(body: unknown, properties?: AmqpProperties): IncomingEvent {
    return { pattern: properties?.type ?? '', data: body };
  }
}
