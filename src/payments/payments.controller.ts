import { Body, Controller, Get, Param, Post, Res } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Idempotent, IdempotentRequest, type IdempotencyContext } from '@idempotent-payments/nestjs-idempotency';
import { ApiIdempotent, IDEMPOTENCY_RESPONSE_HEADERS } from '@idempotent-payments/nestjs-idempotency/swagger';
import { ApiProblemResponses } from '../common/openapi.js';
import { Principal } from '../auth/principal.js';
import { ChargeRequestDto } from './dto/charge-request.dto.js';
import { Payment } from './payment.js';
import { PaymentsService } from './payments.service.js';

@ApiTags('payments')
@ApiBearerAuth()
@ApiProblemResponses(401, 429, 503)
@Controller('payments')
export class PaymentsController {
  constructor(
    private readonly payments: PaymentsService,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  @Post('charge')
  @Idempotent()
  @ApiIdempotent({ responses: false })
  @ApiOperation({ operationId: 'charge', summary: 'Create an order and charge it, once per Idempotency-Key' })
  @ApiCreatedResponse({
    type: Payment,
    headers: { ...IDEMPOTENCY_RESPONSE_HEADERS, Location: { description: 'The charge: /api/payments/{id}', schema: { type: 'string' } } },
  })
  @ApiProblemResponses(400, 402, 409, 413, 422, 502)
  async charge(
    @IdempotentRequest() idempotency: IdempotencyContext,
    @Body() request: ChargeRequestDto,
    // Passthrough: NestJS still sends the returned payment; the response only carries its Location.
    @Res({ passthrough: true }) response: unknown,
  ): Promise<Payment> {
    const payment = await this.payments.charge(idempotency, request);
    this.adapterHost.httpAdapter.setHeader(response, 'Location', `/api/payments/${payment.id}`);
    return payment;
  }

  @Get(':id')
  @ApiOperation({ operationId: 'getPayment', summary: 'One charge of the calling merchant' })
  @ApiOkResponse({ type: Payment })
  @ApiProblemResponses(404)
  get(@Principal() owner: string, @Param('id') id: string): Promise<Payment> {
    return this.payments.get(owner, id);
  }
}
