import { ApiProperty } from '@nestjs/swagger';

/** How the mock gateway behaves; shared by all instances through its schema in PostgreSQL. */
export class PaymentBehavior {
  @ApiProperty({ description: 'Share of charges that fail transiently (502 PAYMENT_PROVIDER_UNAVAILABLE)', minimum: 0, maximum: 1 })
  failureRate: number;

  @ApiProperty({ description: 'Share of charges the card issuer declines (402 CARD_DECLINED)', minimum: 0, maximum: 1 })
  declineRate: number;

  /** Latency of every answer, waited after a charge is recorded: the response lost on its way back. */
  @ApiProperty({ description: 'Latency of every answer, waited after a charge is recorded', minimum: 0, maximum: 60_000 })
  minDelayMs: number;

  @ApiProperty({ minimum: 0, maximum: 60_000 })
  maxDelayMs: number;

  /** Processing time before a charge is recorded: the window in which nothing was charged yet. */
  @ApiProperty({ description: 'Processing time before a charge is recorded', minimum: 0, maximum: 60_000 })
  preChargeDelayMs: number;

  /** Share of webhook events the gateway delivers twice (at-least-once delivery). */
  @ApiProperty({ description: 'Share of webhook events delivered twice', minimum: 0, maximum: 1 })
  webhookDuplicateRate: number;

  /** Delivers a charge's webhooks in random order, so charge.pending may come after charge.succeeded. */
  @ApiProperty({ description: "Deliver a charge's webhooks in random order" })
  webhookShuffle: boolean;
}
