import { hash } from 'node:crypto';

/** The record a script checks and sets in the same atomic step as an event's effect. */
export interface ConsumedMarker {
  key: string;
  value: string;
  ttlMs: number;
}

/**
 * "Event consumed", written by the same script as the event's effect: a crash can never leave the
 * effect without its marker, so a redelivered event is dropped. (The idempotency layer's
 * lock-run-store cycle could not promise that: a crash between the effect and storing its outcome
 * would apply it twice.) The key is a hash of (source, event id); the value says when, for
 * someone inspecting Redis.
 */
export function consumedMarker(source: string, eventId: string, ttlMs: number): ConsumedMarker {
  const id = hash('sha256', JSON.stringify([source, eventId]), 'base64url');
  return { key: `events:consumed:${id}`, value: JSON.stringify({ eventId, consumedAt: new Date().toISOString() }), ttlMs };
}
