import { hash } from 'node:crypto';

/** What makes two requests "the same request": who sent the key, to which method and route. */
export interface IdempotencyScope {
  principal: string;
  method: string;
  route: string;
  key: string;
}

/** The scope as the handler sees it, with the id its records are stored under. */
export interface IdempotencyContext extends IdempotencyScope {
  /** SHA-256 of the scope: fixed length whatever the key, and no client text inside store keys. */
  recordId: string;
  /** SHA-256 of the canonical request body. */
  fingerprint: string;
  /**
   * Aborts when the lock could not be extended (the store went away mid-operation): a handler
   * checks it before irreversible steps such as charging, since exclusivity is no longer certain.
   */
  lockLost?: AbortSignal;
}

export function recordIdOf(parts: string[]): string {
  return hash('sha256', JSON.stringify(parts), 'base64url');
}

export function toIdempotencyContext(scope: IdempotencyScope, fingerprint: string): IdempotencyContext {
  return { ...scope, recordId: recordIdOf([scope.principal, scope.method, scope.route, scope.key]), fingerprint };
}
