import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsObject, Matches, Max, Min, ValidateNested } from 'class-validator';
import { newEventId } from '../events/payment-event.js';
import type { GatewayStatus } from '../orders/order.js';
import type { GatewayStatusResult } from '../orders/orders.repository.js';
import type { GatewayCharge } from './gateway-charge.js';

export const GATEWAY_WEBHOOK_TYPES = ['charge.pending', 'charge.succeeded'] as const;
export type GatewayWebhookType = (typeof GATEWAY_WEBHOOK_TYPES)[number];

/** The order's gateway status each webhook reports. */
export const GATEWAY_STATUS_OF: Record<GatewayWebhookType, GatewayStatus> = {
  'charge.pending': 'pending',
  'charge.succeeded': 'succeeded',
};

export class GatewayWebhookCharge {
  @ApiProperty({ example: 'ch_4cd36e51aa1842c99bf6496b5fc1ad92' })
  @Matches(/^ch_[A-Za-z0-9]{1,64}$/)
  chargeId: string;

  @ApiProperty({ example: 'ord_678bbbeb7a3c96e7caf7266a' })
  @Matches(/^ord_[A-Za-z0-9]{1,64}$/)
  orderId: string;

  @ApiProperty({ description: 'Minor units', example: 1999 })
  @IsInt()
  @Min(1)
  amount: number;

  @ApiProperty({ example: 'EUR' })
  @Matches(/^[A-Z]{3}$/)
  currency: string;
}

/** What the gateway posts to /api/webhooks/gateway: one event about one of its charges. */
export class GatewayWebhook {
  @ApiProperty({ description: 'Unique per event; a redelivery carries the same id', example: 'evt_5b0d3c9e2f7a4e1b8c6d9f0a1b2c3d4e' })
  @Matches(/^evt_[A-Za-z0-9]{1,64}$/)
  id: string;

  @ApiProperty({ enum: GATEWAY_WEBHOOK_TYPES })
  @IsIn(GATEWAY_WEBHOOK_TYPES)
  type: GatewayWebhookType;

  @ApiProperty({ description: 'When the gateway created the event, unix seconds' })
  @IsInt()
  @Min(0)
  @Max(1e11)
  created: number;

  @ApiProperty({ type: GatewayWebhookCharge })
  @IsObject()
  @ValidateNested()
  @Type(() => GatewayWebhookCharge)
  data: GatewayWebhookCharge;
}

/** A new event (new id) of the gateway about one of its charges. */
export function gatewayWebhookFor(type: GatewayWebhookType, charge: Pick<GatewayCharge, 'id' | 'orderId' | 'amount' | 'currency'>): GatewayWebhook {
  return {
    id: newEventId(),
    type,
    created: Math.floor(Date.now() / 1000),
    data: { chargeId: charge.id, orderId: charge.orderId, amount: charge.amount, currency: charge.currency },
  };
}

export class WebhookAck {
  @ApiProperty()
  eventId: string;

  @ApiProperty({
    enum: ['applied', 'duplicate', 'ignored', 'unknown_order'],
    description:
      'applied: the order took the status; duplicate: this event was received before (nothing changed); ignored: the order already has this or a later status; unknown_order: no such order, nothing changed',
  })
  result: GatewayStatusResult;
}
