export type OrderStatus = 'CREATED' | 'PAID' | 'PAYMENT_FAILED';

export interface OrderPayment {
  chargeId: string;
  status: 'succeeded';
  chargedAt: string;
}

export interface OrderFailure {
  code: string;
  detail: string;
  /** A decline is final for this order; a gateway outage is not, and a retry resumes the order. */
  retryable: boolean;
  failedAt: string;
}

export interface Order {
  id: string;
  /** The principal that created it; nobody else sees it. */
  owner: string;
  idempotencyKey: string;
  /** Fingerprint of the request that created it: the same key with another body is refused. */
  requestFingerprint: string;
  amount: number;
  currency: string;
  customerId: string;
  description?: string;
  metadata?: Record<string, string>;
  status: OrderStatus;
  payment?: OrderPayment;
  failure?: OrderFailure;
  createdAt: string;
  updatedAt: string;
}

/** What clients see of an order: the internal bookkeeping fields stay inside. */
export type OrderView = Omit<Order, 'owner' | 'requestFingerprint'>;

export function toOrderView({ owner: _owner, requestFingerprint: _fingerprint, ...view }: Order): OrderView {
  return view;
}
