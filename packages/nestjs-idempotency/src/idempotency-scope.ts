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
  readonly recordId: string;
  /** SHA-256 of the canonical request body (or of what the `fingerprint` option picks from it). */
  readonly fingerprint: string;
  /**
   * Aborts when the lock could not be kept (the store went away mid-operation, or `maxLockHoldMs`
   * passed): a handler checks it before irreversible steps such as charging, since exclusivity is
   * no longer certain. Undefined until the lock is held.
   */
  readonly lockLost?: AbortSignal;
}

export function recordIdOf(parts: string[]): string {
  return hash('sha256', JSON.stringify(parts), 'base64url');
}

/** A context whose `lockLost` is the lock's own signal, made only when someone reads it. */
export class RequestIdempotencyContext implements IdempotencyContext {
  readonly principal: string;
  readonly method: string;
  readonly route: string;
  readonly key: string;
  readonly recordId: string;
  /** Set once the lock is held. */
  lock?: { readonly lost: AbortSignal };

  constructor(
    scope: IdempotencyScope,
    readonly fingerprint: string,
  ) {
    // Field by field: a spread of the scope costs more than the hash.
    this.principal = scope.principal;
    this.method = scope.method;
    this.route = scope.route;
    this.key = scope.key;
    this.recordId = recordIdOf([scope.principal, scope.method, scope.route, scope.key]);
  }

  get lockLost(): AbortSignal | undefined {
    return this.lock?.lost;
  }
}

export function toIdempotencyContext(scope: IdempotencyScope, fingerprint: string): RequestIdempotencyContext {
  return new RequestIdempotencyContext(scope, fingerprint);
}
