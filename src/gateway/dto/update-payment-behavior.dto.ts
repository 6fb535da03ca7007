import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsInt, IsNumber, IsOptional, Max, Min } from 'class-validator';

// Last check first, the order a stack of decorators applies them in: it sets the order of the messages of a value that fails several.
/** A share of calls, 0 to 1. */
const OptionalRate = () =>
  applyDecorators(Max(1), Min(0), IsNumber({ allowNaN: false, allowInfinity: false }), IsOptional(), ApiPropertyOptional({ minimum: 0, maximum: 1 }));

/** Whole milliseconds, up to a minute. */
const OptionalDelayMs = () => applyDecorators(Max(60_000), Min(0), IsInt(), IsOptional(), ApiPropertyOptional({ minimum: 0, maximum: 60_000 }));

/** Any subset of the behaviour; fields left out keep their current value. */
export class UpdatePaymentBehaviorDto {
  @OptionalRate()
  failureRate?: number;

  @OptionalRate()
  declineRate?: number;

  @OptionalDelayMs()
  minDelayMs?: number;

  @OptionalDelayMs()
  maxDelayMs?: number;

  @OptionalDelayMs()
  preChargeDelayMs?: number;

  @OptionalRate()
  webhookDuplicateRate?: number;

  @ApiPropertyOptional()
  @IsOptional()
  @IsBoolean()
  webhookShuffle?: boolean;
}
