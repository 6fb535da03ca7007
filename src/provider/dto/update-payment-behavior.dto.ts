import { IsInt, IsNumber, IsOptional, Max, Min } from 'class-validator';

/** Any subset of the behaviour; fields left out keep their current value. */
export class UpdatePaymentBehaviorDto {
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(1)
  failureRate?: number;

  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(1)
  declineRate?: number;

  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(60_000)
  minDelayMs?: number;

  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(60_000)
  maxDelayMs?: number;

  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(60_000)
  preChargeDelayMs?: number;
}
