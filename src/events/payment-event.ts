import { randomUUID } from 'node:crypto';

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

const EVENT_TYPES: readonly unknown[] = ['payment.succeeded', 'payment.failed'] satisfies PaymentEventType[];

/** What a consumer checks of a message before it applies it: one it cannot read is never applied (it is retried, then dead-lettered). */
export function isPaymentEvent(value: unknown): value is PaymentEvent {
  const event = value as Partial<PaymentEvent> | null;
  const data = event?.data as Partial<PaymentEventData> | undefined;
  return (
    typeof event?.id === 'string' &&
    EVENT_TYPES.includes(event.type) &&
    typeof event.occurredAt === 'string' &&
    !Number.isNaN(Date.parse(event.occurredAt)) &&
    typeof data?.orderId === 'string' &&
    typeof data.owner === 'string' &&
    typeof data.customerId === 'string' &&
    typeof data.currency === 'string' &&
    Number.isSafeInteger(data.amount)
  );
}
