import { ApiProperty } from '@nestjs/swagger';

export interface GatewayChargeRequest {
  /** The key the gateway deduplicates on; our order id, so every attempt for an order sends the same one. */
  downstreamKey: string;
  /** The client's Idempotency-Key as sent, kept for the ledger's filters. */
  idempotencyKey: string;
  orderId: string;
  amount: number;
  currency: string;
  customerId: string;
}

/** One real charge in the gateway's ledger. */
export class GatewayCharge implements GatewayChargeRequest {
  @ApiProperty({ example: 'ch_4cd36e51aa1842c99bf6496b5fc1ad92' })
  id: string;

  @ApiProperty({ description: 'The idempotency key the service sent downstream (its order id)' })
  downstreamKey: string;

  @ApiProperty({ description: "The client's Idempotency-Key as it sent it" })
  idempotencyKey: string;

  @ApiProperty()
  orderId: string;

  @ApiProperty()
  amount: number;

  @ApiProperty()
  currency: string;

  @ApiProperty()
  customerId: string;

  @ApiProperty({ enum: ['succeeded'] })
  status: 'succeeded';

  @ApiProperty({ format: 'date-time' })
  createdAt: string;
}

export class LedgerView {
  @ApiProperty({ type: [GatewayCharge] })
  charges: GatewayCharge[];
}
