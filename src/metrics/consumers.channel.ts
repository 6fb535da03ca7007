import { channel } from 'node:diagnostics_channel';

/** Which of the service's consumers of payment events it was. */
export interface ConsumerEvent {
  consumer: string;
}

/** Consumers report each event whose effect they applied, and each they gave up on (its last delivery failed: dead-lettered); metrics listen. */
export const eventsConsumed = channel('payments:events-consumed');
export const eventsDeadLettered = channel('payments:events-dead-lettered');
