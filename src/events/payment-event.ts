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
