/** How the mock gateway behaves; shared by all instances through Redis. */
export interface PaymentBehavior {
  /** Share of charges that fail transiently (502 PAYMENT_PROVIDER_UNAVAILABLE), 0..1. */
  failureRate: number;
  /** Share of charges the card issuer declines (402 CARD_DECLINED), 0..1. */
  declineRate: number;
  /** Latency of every answer, waited after a charge is recorded: the response lost on its way back. */
  minDelayMs: number;
  maxDelayMs: number;
  /** Processing time before a charge is recorded: the window in which nothing was charged yet. */
  preChargeDelayMs: number;
}
