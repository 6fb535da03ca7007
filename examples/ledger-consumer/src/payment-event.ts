/**
 * The payments service's event contract, as it publishes it to the `payments.events` exchange:
 * routing key and AMQP `type` = the event type, `messageId` and the `Idempotency-Key` header = the
 * event id, the body as below (JSON).
 */
export const PAYMENT_EVENTS_EXCHANGE = 'payments.events';
export const PAYMENT_SUCCEEDED = 'payment.succeeded';

export interface PaymentSucceeded {
  id: string;
  type: typeof PAYMENT_SUCCEEDED;
  occurredAt: string;
  data: {
    orderId: string;
    owner: string;
    customerId: string;
    /** Minor units (cents). */
    amount: number;
    currency: string;
    chargeId: string;
  };
}

/** The body of a `payment.succeeded` message, checked; a body that is not one is an error (the delivery goes back, and after the queue's delivery limit to the dead-letter queue). */
export function parsePaymentSucceeded(body: unknown): PaymentSucceeded {
  const event = body as Partial<PaymentSucceeded> | null;
  const data = event?.data;
  const problems = [
    typeof event?.id === 'string' && event.id !== '' ? undefined : 'id',
    event?.type === PAYMENT_SUCCEEDED ? undefined : 'type',
    typeof event?.occurredAt === 'string' && !Number.isNaN(Date.parse(event.occurredAt)) ? undefined : 'occurredAt',
    typeof data?.orderId === 'string' ? undefined : 'data.orderId',
    typeof data?.owner === 'string' ? undefined : 'data.owner',
    typeof data?.customerId === 'string' ? undefined : 'data.customerId',
    Number.isSafeInteger(data?.amount) && data!.amount > 0 ? undefined : 'data.amount',
    typeof data?.currency === 'string' && /^[A-Z]{3}$/.test(data.currency) ? undefined : 'data.currency',
    typeof data?.chargeId === 'string' ? undefined : 'data.chargeId',
  ].filter((problem) => problem !== undefined);
  if (problems.length > 0) throw new TypeError(`not a ${PAYMENT_SUCCEEDED} event (bad ${problems.join(', ')})`);
  return event as PaymentSucceeded;
}
