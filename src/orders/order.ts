import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { CustomerAmount } from '../common/customer-amount.js';

export type OrderStatus = 'CREATED' | 'PAID' | 'PAYMENT_FAILED';

/** What the gateway last reported about the order's charge through its webhooks. */
export type GatewayStatus = 'pending' | 'succeeded';

/** Webhooks arrive in any order; a status only replaces one of lower rank, so it never goes backwards. */
export const GATEWAY_STATUS_RANK: Record<GatewayStatus, number> = { pending: 1, succeeded: 2 };

export class OrderPayment {
  @ApiProperty()
  chargeId: string;

  @ApiProperty({ enum: ['succeeded'] })
  status: 'succeeded';

  @ApiProperty({ format: 'date-time' })
  chargedAt: string;
}

export class OrderFailure {
  @ApiProperty({
    example: 'CARD_DECLINED',
    description: 'CARD_DECLINED, PAYMENT_PROVIDER_UNAVAILABLE, or ABANDONED: nobody finished the attempt and the gateway had not charged',
  })
  code: string;

  @ApiProperty()
  detail: string;

  /** A decline is final for this order; a gateway outage is not, and a retry resumes the order. */
  @ApiProperty({ description: 'false for a decline (final); true for a gateway outage or an abandoned attempt (the same key resumes the order)' })
  retryable: boolean;

  @ApiProperty({ format: 'date-time' })
  failedAt: string;
}

/** What clients see of an order. */
export class OrderView extends CustomerAmount {
  @ApiProperty({ example: 'ord_678bbbeb7a3c96e7caf7266a' })
  id: string;

  @ApiProperty({ description: 'The Idempotency-Key that created it' })
  idempotencyKey: string;

  @ApiPropertyOptional()
  description?: string;

  @ApiPropertyOptional({ type: 'object', additionalProperties: { type: 'string' } })
  metadata?: Record<string, string>;

  @ApiProperty({ enum: ['CREATED', 'PAID', 'PAYMENT_FAILED'] })
  status: OrderStatus;

  @ApiPropertyOptional({ type: OrderPayment })
  payment?: OrderPayment;

  @ApiPropertyOptional({ type: OrderFailure })
  failure?: OrderFailure;

  @ApiPropertyOptional({ enum: ['pending', 'succeeded'], description: "The charge's status as the gateway's webhooks last reported it" })
  gatewayStatus?: GatewayStatus;

  @ApiProperty({ format: 'date-time' })
  createdAt: string;

  @ApiProperty({ format: 'date-time' })
  updatedAt: string;
}

/** An order as stored: with the bookkeeping fields that stay inside. */
export interface Order extends OrderView {
  /** The principal that created it; nobody else sees it. */
  owner: string;
  /** Fingerprint of the request that created it: the same key with another body is refused. */
  requestFingerprint: string;
  /** The idempotency record of its key, whose lock tells the reconciler whether an attempt is live. */
  idempotencyRecordId: string;
}

export function toOrderView({ owner: _owner, requestFingerprint: _fingerprint, idempotencyRecordId: _recordId, ...view }: Order): OrderView {
  return view;
}

export class OrdersPageView {
  @ApiProperty({ type: [OrderView] })
  data: OrderView[];

  @ApiProperty({ type: String, nullable: true, description: 'Pass as `cursor` for the next page; null on the last page' })
  nextCursor: string | null;
}
