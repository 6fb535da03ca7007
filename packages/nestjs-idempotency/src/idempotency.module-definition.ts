import { ConfigurableModuleBuilder, type ExecutionContext } from '@nestjs/common';
import { IDEMPOTENCY_MODULE_OPTIONS } from './idempotency.constants.js';
import { defaultToProblem } from './idempotency.exceptions.js';
import type { IdempotencyModuleOptions, ResolvedIdempotencyOptions } from './idempotency-options.interface.js';
import { MemoryIdempotencyStore } from './storage/memory.store.js';

export const ANONYMOUS_SCOPE = 'anonymous';

export const {
  ConfigurableModuleClass: ConfigurableIdempotencyModule,
  ASYNC_OPTIONS_TYPE,
  OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<IdempotencyModuleOptions>({ optionsInjectionToken: IDEMPOTENCY_MODULE_OPTIONS })
  .setClassMethodName('forRoot')
  .setExtras({ isGlobal: true }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
  .build();

export function resolveOptions(options: IdempotencyModuleOptions = {}): ResolvedIdempotencyOptions {
  return {
    store: options.store ?? new MemoryIdempotencyStore(),
    resultTtlMs: options.resultTtlMs ?? 24 * 60 * 60 * 1000,
    errorTtlMs: options.errorTtlMs ?? 30_000,
    lockTtlMs: options.lockTtlMs ?? 30_000,
    waitTimeoutMs: options.waitTimeoutMs ?? 0,
    retryAfterSeconds: options.retryAfterSeconds ?? 1,
    replayedHeaders: options.replayedHeaders ?? ['location', 'etag', 'link'],
    getScope: options.getScope ?? authenticatedPrincipal,
    onOutcome: options.onOutcome,
    toProblem: options.toProblem ?? defaultToProblem,
  };
}

/**
 * Passport's convention: `request.user`, a string or an object with `id` or `sub`. A user without
 * either is refused rather than filed under a shared scope, where its keys would meet others'.
 */
export function authenticatedPrincipal(context: ExecutionContext): string {
  const user = context.switchToHttp().getRequest<{ user?: unknown }>().user;
  if (user === undefined || user === null) return ANONYMOUS_SCOPE;
  if (typeof user === 'string') return user;
  const { id, sub } = user as { id?: unknown; sub?: unknown };
  const principal = id ?? sub;
  if (typeof principal === 'string' || typeof principal === 'number') return String(principal);
  throw new Error("request.user has no id or sub: set IdempotencyModule's getScope option to say who owns an Idempotency-Key");
}
