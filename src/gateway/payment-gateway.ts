import type { GatewayCharge, GatewayChargeRequest } from './gateway-charge.js';

/**
 * The payment gateway as the payments code sees it (the port; an abstract class so that it is its
 * own DI token). The mock gateway (MockGatewayService) is one implementation; a real one is
 * bound in GatewayModule instead (see docs/architecture.md, "Plugging in a real gateway").
 */
export abstract class PaymentGateway {
  /**
   * Charges once per `request.downstreamKey`: a key the gateway has seen returns its original
   * charge. Throws CardDeclinedError for a refusal (402, final) and GatewayUnavailableError for
   * anything that may have gone better on a retry (502).
   */
  abstract charge(request: GatewayChargeRequest): Promise<GatewayCharge>;

  /** The charge made for a downstream key, if any; never charges. Throws GatewayUnavailableError if it cannot tell. */
  abstract findCharge(downstreamKey: string): Promise<GatewayCharge | undefined>;
}
