-- Up Migration

-- The mock gateway stands for an external system: its ledger lives apart from the service's tables.
CREATE SCHEMA gateway;

CREATE TABLE gateway.charges (
  downstream_key text PRIMARY KEY,
  id text NOT NULL UNIQUE,
  idempotency_key text NOT NULL,
  order_id text NOT NULL,
  amount bigint NOT NULL,
  currency text NOT NULL,
  customer_id text NOT NULL,
  status text NOT NULL CHECK (status = 'succeeded'),
  created_at timestamptz NOT NULL
);
CREATE INDEX charges_by_created_at ON gateway.charges (created_at, id);

-- One row: what an admin set of the mock's behaviour (the rest comes from the configuration).
CREATE TABLE gateway.behavior (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  settings jsonb NOT NULL
);

-- Stored outcomes and their locks (the package's PostgresIdempotencyStore, createSchema: false).
CREATE TABLE idempotency_records (
  record_id text PRIMARY KEY,
  owner uuid,
  response bytea,
  expires_at timestamptz NOT NULL,
  CHECK ((owner IS NULL) <> (response IS NULL))
);
CREATE INDEX idempotency_records_expires_at ON idempotency_records (expires_at);

-- One order per idempotency record; its status changes are compare-and-sets on status. json, not
-- jsonb, where the stored text is shown to clients: it keeps their keys in their order.
CREATE TABLE orders (
  id text PRIMARY KEY,
  owner text NOT NULL,
  idempotency_key text NOT NULL,
  request_fingerprint text NOT NULL,
  idempotency_record_id text NOT NULL,
  amount bigint NOT NULL CHECK (amount > 0),
  currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  customer_id text NOT NULL,
  description text,
  metadata json,
  status text NOT NULL CHECK (status IN ('CREATED', 'PAID', 'PAYMENT_FAILED')),
  charge_id text,
  charged_at timestamptz,
  failure json,
  gateway_status text CHECK (gateway_status IN ('pending', 'succeeded')),
  created_at timestamptz NOT NULL,
  -- For a CREATED order: when its current attempt began.
  updated_at timestamptz NOT NULL,
  -- A reconciler's claim on an open order, until then.
  reconcile_claimed_until timestamptz,
  UNIQUE (owner, idempotency_key),
  CHECK ((status = 'PAID') = (charge_id IS NOT NULL))
);
CREATE INDEX orders_by_owner ON orders (owner, created_at DESC, id DESC);
-- The reconciler's candidates, oldest attempt first, without a scan of every order.
CREATE INDEX orders_open ON orders (updated_at) WHERE status = 'CREATED';

CREATE TABLE payments (
  id text PRIMARY KEY,
  order_id text NOT NULL UNIQUE REFERENCES orders (id),
  owner text NOT NULL,
  amount bigint NOT NULL,
  currency text NOT NULL,
  customer_id text NOT NULL,
  status text NOT NULL CHECK (status = 'succeeded'),
  created_at timestamptz NOT NULL
);

-- The outbox: each event is written in the transaction of the order's change that it reports.
CREATE TABLE payment_events (
  position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id text NOT NULL UNIQUE,
  type text NOT NULL CHECK (type IN ('payment.succeeded', 'payment.failed')),
  occurred_at timestamptz NOT NULL,
  data jsonb NOT NULL,
  published_at timestamptz
);
CREATE INDEX payment_events_unpublished ON payment_events (position) WHERE published_at IS NULL;
CREATE INDEX payment_events_published_at ON payment_events (published_at) WHERE published_at IS NOT NULL;

-- "This consumer applied this event": written in the transaction of the event's effect.
CREATE TABLE consumed_events (
  consumer text NOT NULL,
  event_id text NOT NULL,
  consumed_at timestamptz NOT NULL DEFAULT statement_timestamp(),
  PRIMARY KEY (consumer, event_id)
);
CREATE INDEX consumed_events_consumed_at ON consumed_events (consumed_at);

CREATE TABLE receipts (
  order_id text PRIMARY KEY,
  owner text NOT NULL,
  charge_id text NOT NULL,
  customer_id text NOT NULL,
  amount bigint NOT NULL,
  currency text NOT NULL,
  paid_at timestamptz NOT NULL,
  event_id text NOT NULL
);

CREATE TABLE balances (
  owner text NOT NULL,
  customer_id text NOT NULL,
  currency text NOT NULL,
  amount bigint NOT NULL,
  payments integer NOT NULL,
  PRIMARY KEY (owner, customer_id, currency)
);

-- Every webhook delivery the gateway made to us, once per event id (a redelivery changes nothing).
CREATE TABLE webhook_deliveries (
  event_id text PRIMARY KEY,
  type text NOT NULL,
  order_id text NOT NULL REFERENCES orders (id),
  result text NOT NULL CHECK (result IN ('applied', 'ignored')),
  received_at timestamptz NOT NULL DEFAULT statement_timestamp()
);

-- Down Migration
DROP TABLE webhook_deliveries, balances, receipts, consumed_events, payment_events, payments, orders, idempotency_records;
DROP SCHEMA gateway CASCADE;
