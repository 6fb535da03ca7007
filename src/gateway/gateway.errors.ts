/** The issuer refused the card: final, a retry of the same charge gets the same answer. */
export class CardDeclinedError extends Error {
  constructor() {
    super('The card was declined');
  }
}

/** The gateway could not be reached or failed: transient, a later retry may succeed. */
export class GatewayUnavailableError extends Error {
  constructor() {
    super('The payment gateway is unavailable');
  }
}
