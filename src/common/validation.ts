import { ValidationError, ValidationPipeOptions } from '@nestjs/common';
import { FieldError, ProblemException } from './problem.js';

/** Flattens nested class-validator errors into `{ field: 'metadata.note', message }` pairs. */
export function toFieldErrors(errors: ValidationError[], parent = ''): FieldError[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((message) => ({ field, message }));
    return [...own, ...toFieldErrors(error.children ?? [], field)];
  });
}

/** The one ValidationPipe configuration of the service: unknown fields rejected, errors as problems. */
export const VALIDATION_PIPE_OPTIONS: ValidationPipeOptions = {
  whitelist: true,
  forbidNonWhitelisted: true,
  transform: true,
  transformOptions: { enableImplicitConversion: false },
  validationError: { target: false, value: false },
  exceptionFactory: (errors) =>
    new ProblemException(400, 'VALIDATION_FAILED', 'The request is not valid; see errors.', {
      errors: toFieldErrors(errors),
    }),
};
