import { toIdempotencyContext } from '../idempotency/idempotency-scope.js';
import { responseKey } from '../idempotency/redis-idempotency.store.js';

/** The record a script checks and sets in the same atomic step as an event's effect. */
export interface ConsumedMarker {
  key: string;
  value: string;
  ttlMs: number;
}

/**
 * A consumed event is recorded like an idempotent request: its id is the key of the scope
 * (principal "events", method CONSUME, route = where it came from), stored under the same
 * `idempotency:{<recordId>}:response` layout, for the result TTL. The value says when, for
 * someone inspecting Redis.
 */
export function consumedMarker(source: string, eventId: string, ttlMs: number): ConsumedMarker {
  const { recordId } = toIdempotencyContext({ principal: 'events', method: 'CONSUME', route: source, key: eventId }, '');
  return { key: responseKey(recordId), value: JSON.stringify({ eventId, consumedAt: new Date().toISOString() }), ttlMs };
}
