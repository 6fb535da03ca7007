import { Cluster, type Redis } from 'ioredis';
import { ProblemException } from '../common/problem.js';
import type { RedisClient } from '../redis/index.js';

/**
 * Events need atomic steps across keys of different slots: an order and the stream (MULTI), an
 * event's marker and the projections it changes (a script). A Redis Cluster refuses those
 * (CROSSSLOT), so on a Cluster the service keeps charging and replaying but emits no events, runs
 * no worker, and answers the event routes with this problem instead of silently stale data.
 */
export const supportsEvents = (redis: RedisClient): redis is Redis => !(redis instanceof Cluster);

export function eventsUnsupported(): ProblemException {
  return new ProblemException(
    501,
    'EVENTS_UNSUPPORTED',
    'Payment events, projections and webhooks need a standalone Redis store; this instance runs on a Redis Cluster.',
  );
}
