import { applyDecorators } from '@nestjs/common';
import { plainToInstance, Transform } from 'class-transformer';
import { parseApiKeys } from './api-keys.js';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, Matches, Max, Min, MinLength, validateSync } from 'class-validator';

const toInt = ({ value }: { value: unknown }) => (typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value);
const toList = ({ value }: { value: unknown }) =>
  typeof value === 'string'
    ? value
        .split(',')
        .map((item) => item.trim())
        .filter(Boolean)
    : value;

const toBool = ({ value }: { value: unknown }) => {
  const text = typeof value === 'string' ? value.trim().toLowerCase() : value;
  return text === 'true' ? true : text === 'false' ? false : value;
};

/** An integer variable within bounds, converted from its text form. */
const IntegerVariable = (min: number, max = Number.MAX_SAFE_INTEGER) => applyDecorators(Transform(toInt), IsInt(), Min(min), Max(max));

/** `true` or `false`, in any case. */
const BooleanVariable = () => applyDecorators(Transform(toBool), IsBoolean({ message: ({ property }) => `${property} must be true or false` }));

const REDIS_URL_PATTERN = /^rediss?:\/\/\S+$/;

/** A comma-separated list of Redis URLs. */
const RedisUrlListVariable = () =>
  applyDecorators(
    Transform(toList),
    Matches(REDIS_URL_PATTERN, { each: true, message: ({ property }) => `${property} must be a comma-separated list of redis:// URLs` }),
  );

/** An optional secret, long enough not to be guessed. */
const SecretVariable = () =>
  applyDecorators(IsOptional(), IsString(), MinLength(16, { message: ({ property }) => `${property} must be at least 16 characters` }));

/**
 * Every environment variable the service reads, with its default. Validated once at start:
 * a wrong value stops the service with a message that names the variable.
 */
export class AppConfig {
  /**
   * Unset means production (fail closed): API keys required, admin routes and webhooks off without
   * their secrets, no playground or Swagger UI. Development is asked for (`npm start` does).
   */
  @IsIn(['development', 'production', 'test'])
  NODE_ENV: 'development' | 'production' | 'test' = 'production';

  @IntegerVariable(0, 65535)
  PORT = 3000;

  /** The HTTP stack: @nestjs/platform-fastify (default) or @nestjs/platform-express. */
  @IsIn(['fastify', 'express'], { message: 'HTTP_ADAPTER must be fastify or express' })
  HTTP_ADAPTER: 'fastify' | 'express' = 'fastify';

  /** The standalone events worker's (`npm run worker`) /health and /metrics; not PORT, so both run side by side. */
  @IntegerVariable(0, 65535)
  WORKER_PORT = 3001;

  @Matches(REDIS_URL_PATTERN, { message: 'REDIS_URL must be a redis:// or rediss:// URL' })
  REDIS_URL = 'redis://127.0.0.1:6379';

  /** Independent Redis nodes for the Redlock quorum; empty means the lock lives on REDIS_URL. */
  @RedisUrlListVariable()
  REDIS_LOCK_URLS: string[] = [];

  /** Startup nodes of a Redis Cluster; when set, the store is that cluster and REDIS_URL is not used. */
  @RedisUrlListVariable()
  REDIS_CLUSTER_NODES: string[] = [];

  /**
   * The system of record (orders, payments, events, projections, stored outcomes) and, in a schema
   * of its own, the mock gateway's ledger. In development a missing database is created.
   */
  @Matches(/^postgres(ql)?:\/\/\S+$/, { message: 'DATABASE_URL must be a postgres:// or postgresql:// URL' })
  DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/payments';

  /** Connections per instance (each process has its own pool). */
  @IntegerVariable(1, 1000)
  DATABASE_POOL_SIZE = 10;

  /** Bounds every statement (server side, and the client's wait for it), so an unreachable database answers 503. */
  @IntegerVariable(50, 600_000)
  DATABASE_STATEMENT_TIMEOUT_MS = 5000;

  /** Apply pending migrations at start (under an advisory lock); false leaves them to a deploy step (npm run migrate). */
  @BooleanVariable()
  DATABASE_MIGRATE = true;

  /** Bounds every Redis command so an unreachable store answers 503 quickly instead of hanging. */
  @IntegerVariable(50, 60_000)
  REDIS_COMMAND_TIMEOUT_MS = 1000;

  @IntegerVariable(1)
  IDEMPOTENCY_RESULT_TTL_SECONDS = 86_400;

  @IntegerVariable(1)
  IDEMPOTENCY_ERROR_TTL_SECONDS = 30;

  /** Only matters after a crash: a live holder extends its lock while the operation runs. */
  @IntegerVariable(100)
  IDEMPOTENCY_LOCK_TTL_MS = 10_000;

  /** 0 answers a concurrent duplicate with 409 at once; > 0 lets it wait that long for the outcome. */
  @IntegerVariable(0, 120_000)
  IDEMPOTENCY_WAIT_MS = 0;

  @IntegerVariable(1)
  IDEMPOTENCY_RETRY_AFTER_SECONDS = 1;

  /** Protects /api/admin; unset leaves the admin routes open (development only). */
  @SecretVariable()
  ADMIN_TOKEN?: string = undefined;

  /**
   * After SIGTERM, how long the instance keeps serving with readiness already 503, so balancers that
   * probe every few seconds stop sending before it refuses. Unset: 5000 in production, 0 otherwise.
   */
  @IsOptional()
  @IntegerVariable(0, 120_000)
  SHUTDOWN_DRAIN_MS?: number = undefined;

  /** Then, how long in-flight requests may take to finish before their connections are cut. */
  @IntegerVariable(0, 120_000)
  SHUTDOWN_TIMEOUT_MS = 10_000;

  @Matches(/^\d+(b|kb|mb)?$/i, { message: 'BODY_LIMIT must look like 16kb, 1mb or a byte count' })
  BODY_LIMIT = '16kb';

  /** BODY_LIMIT in bytes (kb and mb as powers of 1024, as Express's body parser reads them). */
  get bodyLimitBytes(): number {
    const [, count, unit = 'b'] = /^(\d+)(b|kb|mb)?$/i.exec(this.BODY_LIMIT)!;
    return Number(count) * { b: 1, kb: 1024, mb: 1024 * 1024 }[unit.toLowerCase() as 'b' | 'kb' | 'mb'];
  }

  @IsIn(['fatal', 'error', 'warn', 'log', 'debug', 'verbose'])
  LOG_LEVEL: 'fatal' | 'error' | 'warn' | 'log' | 'debug' | 'verbose' = 'log';

  /**
   * Merchant API keys: `merchantA:sk_…,merchantB:sk_…` or the path of a file of `merchant:key`
   * lines. Required in production; without it every caller is the merchant "anonymous".
   */
  @IsOptional()
  @IsString()
  API_KEYS?: string = undefined;

  /** Requests a merchant may make per window (all its /api routes together); 0 turns the limit off. */
  @IntegerVariable(0)
  RATE_LIMIT_MAX = 3000;

  @IntegerVariable(1)
  RATE_LIMIT_WINDOW_SECONDS = 60;

  /** The mock gateway's behaviour until an admin changes it (kept in its schema after that). */
  @IntegerVariable(0, 60_000)
  GATEWAY_MIN_DELAY_MS = 100;

  @IntegerVariable(0, 60_000)
  GATEWAY_MAX_DELAY_MS = 300;

  /** Runs the payment-events consumer inside the service; `npm run worker` runs it as its own process. */
  @BooleanVariable()
  EVENTS_WORKER = true;

  /** The broker payment events are published to (RabbitMQ, AMQP 0-9-1); a vhost is the URL's path. */
  @Matches(/^amqps?:\/\/\S+$/, { message: 'BROKER_URL must be an amqp:// or amqps:// URL' })
  BROKER_URL = 'amqp://guest:guest@127.0.0.1:5672';

  /** How long the relay waits for the broker to confirm a batch before it leaves the batch in the outbox for the next try. */
  @IntegerVariable(100, 120_000)
  BROKER_PUBLISH_TIMEOUT_MS = 5000;

  /** A message delivered this many times without being consumed is a poison message: it goes to the dead-letter queue. */
  @IntegerVariable(1, 100)
  EVENTS_MAX_DELIVERIES = 5;

  /** How often the outbox relay looks for unpublished events when the last look found none. */
  @IntegerVariable(10, 60_000)
  EVENTS_POLL_INTERVAL_MS = 200;

  /**
   * Published events, and the consumed-event markers, older than this are removed by the cleanup;
   * an event not yet published stays, however old.
   */
  @IntegerVariable(1, 365 * 86_400)
  EVENTS_RETENTION_SECONDS = 7 * 86_400;

  /** How often expired stored outcomes and old events are removed (also POST /api/admin/cleanup); 0 turns the schedule off. */
  @IntegerVariable(0, 86_400)
  CLEANUP_INTERVAL_SECONDS = 3600;

  /**
   * An order still CREATED this long after its attempt began, with no live execution holding its
   * lock, is reconciled with the gateway by the events worker: PAID if the gateway charged, else
   * PAYMENT_FAILED (ABANDONED, retryable).
   */
  @IntegerVariable(1, 30 * 86_400)
  RECONCILE_AFTER_SECONDS = 60;

  /** How often the events worker looks for orders to reconcile. */
  @IntegerVariable(100, 3_600_000)
  RECONCILE_INTERVAL_MS = 10_000;

  /** At most this many orders reconciled per sweep and worker: bounded work, whatever the backlog. */
  @IntegerVariable(1, 10_000)
  RECONCILE_BATCH_SIZE = 100;

  /**
   * Tests only: waits this long between applying a batch of events and committing it, so a test can
   * kill the worker inside that window. Must be 0 in production.
   */
  @IntegerVariable(0, 60_000)
  EVENTS_ACK_DELAY_MS = 0;

  /** The checkout playground at `/`; unset: on outside production, off in production. */
  @IsOptional()
  @BooleanVariable()
  PLAYGROUND?: boolean = undefined;

  /** Swagger UI at /docs and its document at /docs/openapi.json; unset: on outside production, off in production. */
  @IsOptional()
  @BooleanVariable()
  API_DOCS?: boolean = undefined;

  /**
   * HMAC-SHA256 key of the gateway's webhook signatures. Unset: a fixed development key outside
   * production; in production the webhook route is off (404) and the mock gateway sends none.
   */
  @SecretVariable()
  WEBHOOK_SECRET?: string = undefined;

  /** Where the mock gateway posts its webhooks; unset = this instance's own /api/webhooks/gateway. */
  @IsOptional()
  @Matches(/^https?:\/\/\S+$/, { message: 'WEBHOOK_URL must be an http:// or https:// URL' })
  WEBHOOK_URL?: string = undefined;

  /** Whether the mock gateway delivers webhooks for its charges at all. */
  @BooleanVariable()
  WEBHOOK_DELIVERY = true;
}

export class InvalidConfigError extends Error {}

/** Validates raw variables (process.env) into a typed AppConfig, or throws naming each bad variable. */
export function loadAppConfig(raw: Record<string, unknown>): AppConfig {
  const known = Object.keys(new AppConfig());
  const relevant = Object.fromEntries(Object.entries(raw).filter(([name, value]) => known.includes(name) && value !== undefined && value !== ''));
  const config = plainToInstance(AppConfig, relevant);
  const errors = validateSync(config, { skipMissingProperties: false });
  const problems = errors.flatMap((error) =>
    Object.values(error.constraints ?? {}).map((message) => (message.startsWith(error.property) ? message : `${error.property}: ${message}`)),
  );
  if (config.GATEWAY_MIN_DELAY_MS > config.GATEWAY_MAX_DELAY_MS) {
    problems.push('GATEWAY_MIN_DELAY_MS must not exceed GATEWAY_MAX_DELAY_MS');
  }
  if (config.NODE_ENV === 'production' && config.EVENTS_ACK_DELAY_MS !== 0) {
    problems.push('EVENTS_ACK_DELAY_MS is for tests and must be 0 in production');
  }
  problems.push(...apiKeyProblems(config));
  if (problems.length > 0) {
    throw new InvalidConfigError(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
  const production = config.NODE_ENV === 'production';
  config.PLAYGROUND ??= !production;
  config.API_DOCS ??= !production;
  config.SHUTDOWN_DRAIN_MS ??= production ? 5000 : 0;
  return config;
}

function apiKeyProblems(config: AppConfig): string[] {
  if (!config.API_KEYS) return config.NODE_ENV === 'production' ? ['API_KEYS must be set in production'] : [];
  try {
    parseApiKeys(config.API_KEYS);
    return [];
  } catch (error) {
    return [`API_KEYS: ${(error as Error).message}`];
  }
}
