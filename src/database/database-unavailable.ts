import { ProblemException } from '../common/problem.js';

/**
 * SQLSTATE classes of a database that cannot answer now: connection exceptions (08), insufficient
 * resources (53), operator intervention (57: shutdown, a statement timeout). Errors of `pg` itself
 * (refused, reset, timed out, terminated) carry no SQLSTATE.
 */
const UNAVAILABLE_CLASSES = /^(08|53|57)/;
const SQLSTATE = /^[0-9A-Z]{5}$/;

/**
 * 503 DATABASE_UNAVAILABLE with Retry-After for an unreachable or overwhelmed database (not stored
 * by the idempotency layer: the key stays free for the retry); any other error (a bug, a
 * constraint) as it is.
 */
export function databaseError(error: unknown): unknown {
  if (error instanceof ProblemException) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && SQLSTATE.test(code) && !UNAVAILABLE_CLASSES.test(code)) return error;
  return new ProblemException(503, 'DATABASE_UNAVAILABLE', 'The database is unreachable; retry later with the same key.', {
    headers: { 'Retry-After': '1' },
    cause: error,
  });
}
