import { Controller, Get, Param } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import { Matches } from 'class-validator';
import { ApiProblemResponses } from '../common/openapi.js';
import { Principal } from '../auth/principal.js';
import { ProblemException } from '../common/problem.js';
import { OrdersService } from '../orders/orders.service.js';
import { CustomerBalance, Receipt } from './projections.js';
import { ProjectionsRepository } from './projections.repository.js';

class CustomerParams {
  /** The customer ids a charge accepts, so a path can never name a key of another shape. */
  @ApiProperty({ pattern: '^[A-Za-z0-9_-]{1,64}$' })
  @Matches(/^[A-Za-z0-9_-]{1,64}$/, { message: 'id must be 1-64 characters of A-Z, a-z, 0-9, _ or -' })
  id: string;
}

/**
 * What the events worker built from the payment events, scoped like orders: a merchant sees its
 * own customers' balances and its own orders' receipts, and another merchant's order is unknown.
 * Projections are eventually consistent: a receipt appears shortly after its order is PAID.
 */
@ApiTags('projections')
@ApiBearerAuth()
@ApiProblemResponses(401, 429, 503)
@Controller()
export class ProjectionsController {
  constructor(
    private readonly projections: ProjectionsRepository,
    private readonly orders: OrdersService,
  ) {}

  @Get('customers/:id/balance')
  @ApiOperation({ operationId: 'getCustomerBalance', summary: "A customer's succeeded payments with the calling merchant, summed per currency" })
  @ApiOkResponse({ type: CustomerBalance })
  @ApiProblemResponses(400)
  async balance(@Principal() owner: string, @Param() { id }: CustomerParams): Promise<CustomerBalance> {
    return { customerId: id, balances: await this.projections.balances(owner, id) };
  }

  @Get('orders/:id/receipt')
  @ApiOperation({ operationId: 'getOrderReceipt', summary: "The receipt of one of the calling merchant's paid orders" })
  @ApiOkResponse({ type: Receipt })
  @ApiProblemResponses(404)
  async receipt(@Principal() owner: string, @Param('id') id: string): Promise<Receipt> {
    await this.orders.get(owner, id);
    const stored = await this.projections.findReceipt(id);
    if (!stored || stored.owner !== owner) {
      throw new ProblemException(404, 'RECEIPT_NOT_FOUND', 'This order has no receipt yet: it is issued shortly after its payment succeeded.');
    }
    const { owner: _owner, ...receipt } = stored;
    return receipt;
  }
}
