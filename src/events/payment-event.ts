import { randomUUID } from 'node:crypto';

/** The stream every payment event goes to, and the consumer group that builds the projections from it. */
export const PAYMENTS_STREAM = 'events:payments';
export const PROJECTIONS_GROUP = 'projections';

export type PaymentEventType = 'payment.succeeded' | 'payment.failed';

export interface PaymentEventData {
  orderId: string;
  /** The merchant the order belongs to: projections are scoped by it like orders are. */
  owner: string;
  customerId: string;
  amount: number;
  currency: string;
  /** payment.succeeded */
  chargeId?: string;
  /** payment.failed */
  failureCode?: string;
}

export interface PaymentEvent {
  /** Unique per state change; consumers deduplicate on it (it plays the role of an Idempotency-Key). */
  id: string;
  type: PaymentEventType;
  occurredAt: string;
  data: PaymentEventData;
}

/** Event ids of this service and of the mock gateway alike. */
export const newEventId = () => `evt_${randomUUID().replaceAll('-', '')}`;

export function newPaymentEvent(type: PaymentEventType, occurredAt: string, data: PaymentEventData): PaymentEvent {
  return { id: newEventId(), type, occurredAt, data };
}

/** XADD field/value pairs: id and type stay readable in XRANGE output, the rest is one JSON field. */
export function toStreamFields(event: PaymentEvent): string[] {
  return ['id', event.id, 'type', event.type, 'occurredAt', event.occurredAt, 'data', JSON.stringify(event.data)];
}

const EVENT_TYPES: readonly string[] = ['payment.succeeded', 'payment.failed'] satisfies PaymentEventType[];

/** The event of a stream entry, or undefined for an entry this service did not write (it cannot be applied). */
export function fromStreamFields(fields: string[]): PaymentEvent | undefined {
  const values = new Map<string, string>();
  for (let index = 0; index + 1 < fields.length; index += 2) values.set(fields[index]!, fields[index + 1]!);
  const [id, type, occurredAt, data] = ['id', 'type', 'occurredAt', 'data'].map((name) => values.get(name));
  if (!id || !type || !EVENT_TYPES.includes(type) || !occurredAt || !data) return undefined;
  try {
    const parsed = JSON.parse(data) as PaymentEventData;
    if (typeof parsed.orderId !== 'string' || typeof parsed.owner !== 'string' || !Number.isSafeInteger(parsed.amount)) return undefined;
    return { id, type: type as PaymentEventType, occurredAt, data: parsed };
  } catch {
    return undefined;
  }
}
