import { channel } from 'node:diagnostics_channel';

/** Where a duplicate came from: a payment event the broker delivered again, or a webhook the gateway sent again. */
export type EventSource = 'broker' | 'webhook';

export interface EventDuplicateDropped {
  source: EventSource;
}

/**
 * Consumers announce each duplicate they dropped here; metrics listen. Like gateway-calls, a channel
 * keeps the consumers free of any dependency on metrics (the worker process has none).
 */
export const eventDuplicatesDropped = channel('payments:event-duplicates-dropped');
