import { channel } from 'node:diagnostics_channel';

/** After each relay round: when the oldest event still waiting in the outbox was written (ms), undefined when none waits. */
export interface OutboxObserved {
  oldestUnpublishedAt?: number;
}

/** The outbox relay reports here; metrics and readiness listen (no dependency of the relay on either). */
export const outboxObserved = channel('payments:outbox-observed');
