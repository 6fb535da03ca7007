import { ConfigurableModuleBuilder, type ExecutionContext } from '@nestjs/common';
import { IDEMPOTENCY_MODULE_OPTIONS } from './idempotency.constants.js';
import type { IdempotencyModuleOptions, ResolvedIdempotencyOptions } from './idempotency-options.interface.js';
import { MemoryIdempotencyStore } from './storage/memory.store.js';

export const ANONYMOUS_SCOPE = 'anonymous';

/** Never stored, whatever `replayedHeaders` lists: they belong to one response and one client. */
const NEVER_REPLAYED = new Set(['set-cookie', 'authorization', 'proxy-authorization', 'www-authenticate', 'proxy-authenticate']);

export const {
  ConfigurableModuleClass: ConfigurableIdempotencyModule,
  ASYNC_OPTIONS_TYPE,
  OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<IdempotencyModuleOptions>({ optionsInjectionToken: IDEMPOTENCY_MODULE_OPTIONS })
  .setClassMethodName('forRoot')
  .setExtras({ isGlobal: true }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
  .build();

export function resolveOptions(options: IdempotencyModuleOptions = {}): ResolvedIdempotencyOptions {
  const store = options.store ?? new MemoryIdempotencyStore();
  if (store instanceof MemoryIdempotencyStore && !store.allowInProduction && process.env.NODE_ENV === 'production') {
    throw new Error(
      'IdempotencyModule: the in-memory store keeps records in one process, so under NODE_ENV=production a retry that reaches ' +
        'another instance, or this one after a restart, would run again. Pass a shared store (store: new RedisIdempotencyStore(redis)), ' +
        'or, for a single process that accepts that, store: new MemoryIdempotencyStore({ allowInProduction: true }).',
    );
  }
  const lockTtlMs = positive('lockTtlMs', options.lockTtlMs ?? 30_000);
  return {
    ...options,
    store,
    resultTtlMs: positive('resultTtlMs', options.resultTtlMs ?? 24 * 60 * 60 * 1000),
    errorTtlMs: positive('errorTtlMs', options.errorTtlMs ?? 30_000),
    lockTtlMs,
    maxLockHoldMs: positive('maxLockHoldMs', options.maxLockHoldMs ?? Infinity),
    storeTimeoutMs: positive('storeTimeoutMs', options.storeTimeoutMs ?? 2_000),
    waitTimeoutMs: options.waitTimeoutMs ?? 0,
    retryAfterSeconds: options.retryAfterSeconds ?? 1,
    replayedHeaders: (options.replayedHeaders ?? ['location', 'etag', 'link']).map((name) => name.toLowerCase()).filter((name) => !NEVER_REPLAYED.has(name)),
    getScope: options.getScope ?? authenticatedPrincipal,
    errorResponses: options.errorResponses ?? 'problem',
  };
}

function positive(name: string, value: number): number {
  if (!(value > 0)) throw new Error(`IdempotencyModule: ${name} must be a positive number of milliseconds, got ${value}`);
  return value;
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
