// Generated from openapi.json by `npm run openapi` (openapi-typescript). Do not edit.

export interface paths {
    "/metrics": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Prometheus exposition format */
        get: operations["getMetrics"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/payments/charge": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Create an order and charge it, once per Idempotency-Key */
        post: operations["charge"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/payments/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** One charge of the calling merchant */
        get: operations["getPayment"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/orders": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The calling merchant's orders, newest first; with idempotencyKey, the order that key created (none for another merchant's key) */
        get: operations["listOrders"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/orders/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** One order of the calling merchant */
        get: operations["getOrder"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/admin/payment-behavior": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The mock gateway's behaviour */
        get: operations["getPaymentBehavior"];
        /** Change any subset of the behaviour */
        put: operations["updatePaymentBehavior"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/admin/provider/charges": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** What the gateway really charged: the ground truth */
        get: operations["listGatewayCharges"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/customers/{id}/balance": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** A customer's succeeded payments with the calling merchant, summed per currency */
        get: operations["getCustomerBalance"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/orders/{id}/receipt": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The receipt of one of the calling merchant's paid orders */
        get: operations["getOrderReceipt"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/webhooks/gateway": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** The payment gateway's signed events (charge.pending, charge.succeeded) */
        post: operations["receiveGatewayWebhook"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/admin/cleanup": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Remove expired stored outcomes, and published events and consumed markers past their retention, now; orders and payments stay */
        post: operations["cleanUp"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/health": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Liveness: the process answers */
        get: operations["getLiveness"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/health/ready": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Readiness: not shutting down, and PostgreSQL and Redis answer */
        get: operations["getReadiness"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        FieldErrorSchema: {
            /** @example amount */
            field: string;
            /** @example amount must not be less than 1 */
            message: string;
        };
        ProblemDocumentSchema: {
            /** @example urn:problem-type:idempotency-key-reused */
            type: string;
            /** @example Unprocessable Entity */
            title: string;
            /** @example 422 */
            status: number;
            /** @example This Idempotency-Key was already used with a different request body. */
            detail: string;
            /**
             * @description Stable UPPER_SNAKE identifier to switch on
             * @example IDEMPOTENCY_KEY_REUSED
             */
            code: string;
            /** @description Validation errors, one per field */
            errors?: components["schemas"]["FieldErrorSchema"][];
        };
        ChargeRequestDto: {
            /**
             * @description Minor units (e.g. cents)
             * @example 1999
             */
            amount: number;
            /**
             * @description ISO 4217 alphabetic code
             * @example EUR
             */
            currency: string;
            /** @example cus_42 */
            customerId: string;
            description?: string;
            metadata?: {
                [key: string]: string;
            };
        };
        Payment: {
            /**
             * @description Minor units
             * @example 1999
             */
            amount: number;
            /** @example EUR */
            currency: string;
            /** @example cus_42 */
            customerId: string;
            /** @example ch_4cd36e51aa1842c99bf6496b5fc1ad92 */
            id: string;
            /** @example ord_678bbbeb7a3c96e7caf7266a */
            orderId: string;
            /** @enum {string} */
            status: "succeeded";
            /** Format: date-time */
            createdAt: string;
        };
        OrderPayment: {
            chargeId: string;
            /** @enum {string} */
            status: "succeeded";
            /** Format: date-time */
            chargedAt: string;
        };
        OrderFailure: {
            /**
             * @description CARD_DECLINED, PAYMENT_PROVIDER_UNAVAILABLE, or ABANDONED: nobody finished the attempt and the gateway had not charged
             * @example CARD_DECLINED
             */
            code: string;
            detail: string;
            /** @description false for a decline (final); true for a gateway outage or an abandoned attempt (the same key resumes the order) */
            retryable: boolean;
            /** Format: date-time */
            failedAt: string;
        };
        OrderView: {
            /**
             * @description Minor units
             * @example 1999
             */
            amount: number;
            /** @example EUR */
            currency: string;
            /** @example cus_42 */
            customerId: string;
            /** @example ord_678bbbeb7a3c96e7caf7266a */
            id: string;
            /** @description The Idempotency-Key that created it */
            idempotencyKey: string;
            description?: string;
            metadata?: {
                [key: string]: string;
            };
            /** @enum {string} */
            status: "CREATED" | "PAID" | "PAYMENT_FAILED";
            payment?: components["schemas"]["OrderPayment"];
            failure?: components["schemas"]["OrderFailure"];
            /**
             * @description The charge's status as the gateway's webhooks last reported it
             * @enum {string}
             */
            gatewayStatus?: "pending" | "succeeded";
            /** Format: date-time */
            createdAt: string;
            /** Format: date-time */
            updatedAt: string;
        };
        OrdersPageView: {
            data: components["schemas"]["OrderView"][];
            /** @description Pass as `cursor` for the next page; null on the last page */
            nextCursor: string | null;
        };
        PaymentBehavior: {
            /** @description Share of charges that fail transiently (502 PAYMENT_PROVIDER_UNAVAILABLE) */
            failureRate: number;
            /** @description Share of charges the card issuer declines (402 CARD_DECLINED) */
            declineRate: number;
            /** @description Latency of every answer, waited after a charge is recorded */
            minDelayMs: number;
            maxDelayMs: number;
            /** @description Processing time before a charge is recorded */
            preChargeDelayMs: number;
            /** @description Share of webhook events delivered twice */
            webhookDuplicateRate: number;
            /** @description Deliver a charge's webhooks in random order */
            webhookShuffle: boolean;
        };
        UpdatePaymentBehaviorDto: {
            failureRate?: number;
            declineRate?: number;
            minDelayMs?: number;
            maxDelayMs?: number;
            preChargeDelayMs?: number;
            webhookDuplicateRate?: number;
            webhookShuffle?: boolean;
        };
        GatewayCharge: {
            /** @example ch_4cd36e51aa1842c99bf6496b5fc1ad92 */
            id: string;
            /** @description The idempotency key the service sent downstream (its order id) */
            downstreamKey: string;
            /** @description The client's Idempotency-Key as it sent it */
            idempotencyKey: string;
            orderId: string;
            amount: number;
            currency: string;
            customerId: string;
            /** @enum {string} */
            status: "succeeded";
            /** Format: date-time */
            createdAt: string;
        };
        LedgerView: {
            charges: components["schemas"]["GatewayCharge"][];
        };
        CurrencyBalance: {
            /** @example EUR */
            currency: string;
            /**
             * @description Sum of the succeeded payments, minor units
             * @example 1999
             */
            amount: number;
            /**
             * @description How many succeeded payments the sum holds
             * @example 1
             */
            payments: number;
        };
        CustomerBalance: {
            /** @example cus_42 */
            customerId: string;
            /** @description One entry per currency the customer paid in, by currency code; empty before the first payment */
            balances: components["schemas"]["CurrencyBalance"][];
        };
        Receipt: {
            /**
             * @description Minor units
             * @example 1999
             */
            amount: number;
            /** @example EUR */
            currency: string;
            /** @example cus_42 */
            customerId: string;
            /** @example ord_678bbbeb7a3c96e7caf7266a */
            orderId: string;
            /** @example ch_4cd36e51aa1842c99bf6496b5fc1ad92 */
            chargeId: string;
            /** Format: date-time */
            paidAt: string;
            /**
             * @description The payment.succeeded event it was made from
             * @example evt_0f8e3b9a4c2d4e6f8a1b3c5d7e9f1a2b
             */
            eventId: string;
        };
        GatewayWebhookCharge: {
            /** @example ch_4cd36e51aa1842c99bf6496b5fc1ad92 */
            chargeId: string;
            /** @example ord_678bbbeb7a3c96e7caf7266a */
            orderId: string;
            /**
             * @description Minor units
             * @example 1999
             */
            amount: number;
            /** @example EUR */
            currency: string;
        };
        GatewayWebhook: {
            /**
             * @description Unique per event; a redelivery carries the same id
             * @example evt_5b0d3c9e2f7a4e1b8c6d9f0a1b2c3d4e
             */
            id: string;
            /** @enum {string} */
            type: "charge.pending" | "charge.succeeded";
            /** @description When the gateway created the event, unix seconds */
            created: number;
            data: components["schemas"]["GatewayWebhookCharge"];
        };
        WebhookAck: {
            eventId: string;
            /**
             * @description applied: the order took the status; duplicate: this event was received before (nothing changed); ignored: the order already has this or a later status; unknown_order: no such order, nothing changed
             * @enum {string}
             */
            result: "applied" | "duplicate" | "ignored" | "unknown_order";
        };
        CleanupReport: {
            /** @description Stored outcomes (and abandoned locks) past their expiry, removed from PostgreSQL */
            idempotencyRecords: number;
            /** @description Published payment events older than EVENTS_RETENTION_SECONDS */
            events: number;
            /** @description Consumed-event markers older than EVENTS_RETENTION_SECONDS */
            consumedEvents: number;
        };
    };
    responses: never;
    parameters: never;
    requestBodies: never;
    headers: never;
    pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
    getMetrics: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
        };
    };
    charge: {
        parameters: {
            query?: never;
            header: {
                /** @description 1-255 visible ASCII characters, bare or as a structured-field string ("..."). Reuse it for every retry of the same request. */
                "Idempotency-Key": string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["ChargeRequestDto"];
            };
        };
        responses: {
            201: {
                headers: {
                    /** @description true when this is a stored outcome replayed, false when it ran now */
                    "Idempotency-Cached"?: "true" | "false";
                    /** @description Present (true) on replays only */
                    "Idempotent-Replayed"?: "true";
                    /** @description The charge: /api/payments/{id} */
                    Location?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Payment"];
                };
            };
            /** @description Invalid request: VALIDATION_FAILED, MALFORMED_JSON, IDEMPOTENCY_KEY_MISSING, IDEMPOTENCY_KEY_INVALID */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDocumentSchema"];
                };
            };
            /** @description UNAUTHENTICATED (merchant routes), ADMIN_TOKEN_INVALID (admin routes) or WEBHOOK_SIGNATURE_INVALID (webhooks) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDocumentSchema"];
                };
            };
            /** @description CARD_DECLINED: final for this order; replayed to retries */
            402: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDocumentSchema"];
                };
            };
            /** @description REQUEST_IN_PROGRESS: a request with this key is running; see Retry-After */
            409: {
                headers: {
                    /** @description Seconds to wait before retrying (on a 502, its replays only) */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDocumentSchema"];
                };
            };
            /** @description PAYLOAD_TOO_LARGE */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDocumentSchema"];
                };
            };
            /** @description IDEMPOTENCY_KEY_REUSED: the key was used with another body */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDocumentSchema"];
                };
            };
            /** @description RATE_LIMITED: see Retry-After */
            429: {
                headers: {
                    /** @description Seconds to wait before retrying (on a 502, its replays only) */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDocumentSchema"];
                };
            };
            /** @description PAYMENT_PROVIDER_UNAVAILABLE: nothing was charged; replayed for the error TTL (a replay says how long in Retry-After), then the same key resumes */
            502: {
                headers: {
                    /** @description Seconds to wait before retrying (on a 502, its replays only) */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDocumentSchema"];
                };
            };
            /** @description IDEMPOTENCY_STORE_UNAVAILABLE (Redis or PostgreSQL), DATABASE_UNAVAILABLE or NOT_READY: retry later with the same key (Retry-After) */
            503: {
                headers: {
                    /** @description Seconds to wait before retrying (on a 502, its replays only) */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDocumentSchema"];
                };
            };
        };
    };
    getPayment: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Payment"];
                };
            };
            /** @description UNAUTHENTICATED (merchant routes), ADMIN_TOKEN_INVALID (admin routes) or WEBHOOK_SIGNATURE_INVALID (webhooks) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDocumentSchema"];
                };
            };
            /** @description ORDER_NOT_FOUND, PAYMENT_NOT_FOUND, RECEIPT_NOT_FOUND or NOT_FOUND */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDocumentSchema"];
                };
            };
            /** @description RATE_LIMITED: see Retry-After */
            429: {
                headers: {
                    /** @description Seconds to wait before retrying (on a 502, its replays only) */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDocumentSchema"];
                };
            };
            /** @description IDEMPOTENCY_STORE_UNAVAILABLE (Redis or PostgreSQL), DATABASE_UNAVAILABLE or NOT_READY: retry later with the same key (Retry-After) */
            503: {
                headers: {
                    /** @description Seconds to wait before retrying (on a 502, its replays only) */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDocumentSchema"];
                };
            };
        };
    };
    listOrders: {
        parameters: {
            query?: {
                limit?: number;
                /** @description The nextCursor of the previous page */
                cursor?: string;
                /** @description Only the order this Idempotency-Key created (the key as sent, without structured-field quotes) */
                idempotencyKey?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["OrdersPageView"];
                };
            };
            /** @description Invalid request: VALIDATION_FAILED, MALFORMED_JSON, IDEMPOTENCY_KEY_MISSING, IDEMPOTENCY_KEY_INVALID */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDocumentSchema"];
                };
            };
            /** @description UNAUTHENTICATED (merchant routes), ADMIN_TOKEN_INVALID (admin routes) or WEBHOOK_SIGNATURE_INVALID (webhooks) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDocumentSchema"];
                };
            };
            /** @description RATE_LIMITED: see Retry-After */
            429: {
                headers: {
                    /** @description Seconds to wait before retrying (on a 502, its replays only) */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDocumentSchema"];
                };
            };
            /** @description IDEMPOTENCY_STORE_UNAVAILABLE (Redis or PostgreSQL), DATABASE_UNAVAILABLE or NOT_READY: retry later with the same key (Retry-After) */
            503: {
                headers: {
                    /** @description Seconds to wait before retrying (on a 502, its replays only) */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDocumentSchema"];
                };
            };
        };
    };
    getOrder: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["OrderView"];
                };
            };
            /** @description UNAUTHENTICATED (merchant routes), ADMIN_TOKEN_INVALID (admin routes) or WEBHOOK_SIGNATURE_INVALID (webhooks) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDocumentSchema"];
                };
            };
            /** @description ORDER_NOT_FOUND, PAYMENT_NOT_FOUND, RECEIPT_NOT_FOUND or NOT_FOUND */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDocumentSchema"];
                };
            };
            /** @description RATE_LIMITED: see Retry-After */
            429: {
                headers: {
                    /** @description Seconds to wait before retrying (on a 502, its replays only) */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDocumentSchema"];
                };
            };
            /** @description IDEMPOTENCY_STORE_UNAVAILABLE (Redis or PostgreSQL), DATABASE_UNAVAILABLE or NOT_READY: retry later with the same key (Retry-After) */
            503: {
                headers: {
                    /** @description Seconds to wait before retrying (on a 502, its replays only) */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDocumentSchema"];
                };
            };
        };
    };
    getPaymentBehavior: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PaymentBehavior"];
                };
            };
            /** @description UNAUTHENTICATED (merchant routes), ADMIN_TOKEN_INVALID (admin routes) or WEBHOOK_SIGNATURE_INVALID (webhooks) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDocumentSchema"];
                };
            };
        };
    };
    updatePaymentBehavior: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["UpdatePaymentBehaviorDto"];
            };
        };
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PaymentBehavior"];
                };
            };
            /** @description Invalid request: VALIDATION_FAILED, MALFORMED_JSON, IDEMPOTENCY_KEY_MISSING, IDEMPOTENCY_KEY_INVALID */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDocumentSchema"];
                };
            };
            /** @description UNAUTHENTICATED (merchant routes), ADMIN_TOKEN_INVALID (admin routes) or WEBHOOK_SIGNATURE_INVALID (webhooks) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDocumentSchema"];
                };
            };
        };
    };
    listGatewayCharges: {
        parameters: {
            query?: {
                /** @description The client's Idempotency-Key as it sent it */
                idempotencyKey?: string;
                orderId?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["LedgerView"];
                };
            };
            /** @description UNAUTHENTICATED (merchant routes), ADMIN_TOKEN_INVALID (admin routes) or WEBHOOK_SIGNATURE_INVALID (webhooks) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDocumentSchema"];
                };
            };
        };
    };
    getCustomerBalance: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["CustomerBalance"];
                };
            };
            /** @description Invalid request: VALIDATION_FAILED, MALFORMED_JSON, IDEMPOTENCY_KEY_MISSING, IDEMPOTENCY_KEY_INVALID */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDocumentSchema"];
                };
            };
            /** @description UNAUTHENTICATED (merchant routes), ADMIN_TOKEN_INVALID (admin routes) or WEBHOOK_SIGNATURE_INVALID (webhooks) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDocumentSchema"];
                };
            };
            /** @description RATE_LIMITED: see Retry-After */
            429: {
                headers: {
                    /** @description Seconds to wait before retrying (on a 502, its replays only) */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDocumentSchema"];
                };
            };
            /** @description IDEMPOTENCY_STORE_UNAVAILABLE (Redis or PostgreSQL), DATABASE_UNAVAILABLE or NOT_READY: retry later with the same key (Retry-After) */
            503: {
                headers: {
                    /** @description Seconds to wait before retrying (on a 502, its replays only) */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDocumentSchema"];
                };
            };
        };
    };
    getOrderReceipt: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Receipt"];
                };
            };
            /** @description UNAUTHENTICATED (merchant routes), ADMIN_TOKEN_INVALID (admin routes) or WEBHOOK_SIGNATURE_INVALID (webhooks) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDocumentSchema"];
                };
            };
            /** @description ORDER_NOT_FOUND, PAYMENT_NOT_FOUND, RECEIPT_NOT_FOUND or NOT_FOUND */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDocumentSchema"];
                };
            };
            /** @description RATE_LIMITED: see Retry-After */
            429: {
                headers: {
                    /** @description Seconds to wait before retrying (on a 502, its replays only) */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDocumentSchema"];
                };
            };
            /** @description IDEMPOTENCY_STORE_UNAVAILABLE (Redis or PostgreSQL), DATABASE_UNAVAILABLE or NOT_READY: retry later with the same key (Retry-After) */
            503: {
                headers: {
                    /** @description Seconds to wait before retrying (on a 502, its replays only) */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDocumentSchema"];
                };
            };
        };
    };
    receiveGatewayWebhook: {
        parameters: {
            query?: never;
            header: {
                /** @description t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>"> with WEBHOOK_SECRET */
                "Gateway-Signature": string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["GatewayWebhook"];
            };
        };
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["WebhookAck"];
                };
            };
            /** @description Invalid request: VALIDATION_FAILED, MALFORMED_JSON, IDEMPOTENCY_KEY_MISSING, IDEMPOTENCY_KEY_INVALID */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDocumentSchema"];
                };
            };
            /** @description UNAUTHENTICATED (merchant routes), ADMIN_TOKEN_INVALID (admin routes) or WEBHOOK_SIGNATURE_INVALID (webhooks) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDocumentSchema"];
                };
            };
            /** @description PAYLOAD_TOO_LARGE */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDocumentSchema"];
                };
            };
            /** @description UNSUPPORTED_MEDIA_TYPE: webhooks are application/json */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDocumentSchema"];
                };
            };
            /** @description IDEMPOTENCY_STORE_UNAVAILABLE (Redis or PostgreSQL), DATABASE_UNAVAILABLE or NOT_READY: retry later with the same key (Retry-After) */
            503: {
                headers: {
                    /** @description Seconds to wait before retrying (on a 502, its replays only) */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDocumentSchema"];
                };
            };
        };
    };
    cleanUp: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["CleanupReport"];
                };
            };
            /** @description UNAUTHENTICATED (merchant routes), ADMIN_TOKEN_INVALID (admin routes) or WEBHOOK_SIGNATURE_INVALID (webhooks) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDocumentSchema"];
                };
            };
            /** @description IDEMPOTENCY_STORE_UNAVAILABLE (Redis or PostgreSQL), DATABASE_UNAVAILABLE or NOT_READY: retry later with the same key (Retry-After) */
            503: {
                headers: {
                    /** @description Seconds to wait before retrying (on a 502, its replays only) */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDocumentSchema"];
                };
            };
        };
    };
    getLiveness: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** @example ok */
                        status: string;
                        info?: Record<string, never>;
                        error?: Record<string, never>;
                        /**
                         * @example {
                         *       "database": {
                         *         "status": "up",
                         *         "responseTime": 1
                         *       },
                         *       "redis": {
                         *         "status": "up",
                         *         "responseTime": 1
                         *       }
                         *     }
                         */
                        details: Record<string, never>;
                    };
                };
            };
        };
    };
    getReadiness: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** @example ok */
                        status: string;
                        info?: Record<string, never>;
                        error?: Record<string, never>;
                        /**
                         * @example {
                         *       "database": {
                         *         "status": "up",
                         *         "responseTime": 1
                         *       },
                         *       "redis": {
                         *         "status": "up",
                         *         "responseTime": 1
                         *       }
                         *     }
                         */
                        details: Record<string, never>;
                    };
                };
            };
            /** @description IDEMPOTENCY_STORE_UNAVAILABLE (Redis or PostgreSQL), DATABASE_UNAVAILABLE or NOT_READY: retry later with the same key (Retry-After) */
            503: {
                headers: {
                    /** @description Seconds to wait before retrying (on a 502, its replays only) */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ProblemDocumentSchema"];
                };
            };
        };
    };
}
