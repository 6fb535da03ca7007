import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiProblemResponses } from '../common/openapi.js';
import { Principal } from '../auth/principal.js';
import { ListOrdersQueryDto } from './dto/list-orders-query.dto.js';
import { OrdersPageView, OrderView, toOrderView } from './order.js';
import { OrdersService } from './orders.service.js';

@ApiTags('orders')
@ApiBearerAuth()
@ApiProblemResponses(401, 429, 503)
@Controller('orders')
export class OrdersController {
  constructor(private readonly orders: OrdersService) {}

  @Get()
  @ApiOperation({
    operationId: 'listOrders',
    summary: "The calling merchant's orders, newest first; with idempotencyKey, the order that key created (none for another merchant's key)",
  })
  @ApiOkResponse({ type: OrdersPageView })
  @ApiProblemResponses(400)
  async list(@Principal() owner: string, @Query() query: ListOrdersQueryDto): Promise<OrdersPageView> {
    if (query.idempotencyKey !== undefined) {
      const order = await this.orders.findByIdempotencyKey(owner, query.idempotencyKey);
      return { data: order ? [toOrderView(order)] : [], nextCursor: null };
    }
    const page = await this.orders.list(owner, query.limit, query.cursor);
    return { data: page.orders.map(toOrderView), nextCursor: page.nextCursor };
  }

  @Get(':id')
  @ApiOperation({ operationId: 'getOrder', summary: 'One order of the calling merchant' })
  @ApiOkResponse({ type: OrderView })
  @ApiProblemResponses(404)
  async get(@Principal() owner: string, @Param('id') id: string): Promise<OrderView> {
    return toOrderView(await this.orders.get(owner, id));
  }
}
