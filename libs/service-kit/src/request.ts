import { BadRequestException } from '@nestjs/common';
import type { z } from 'zod';

/**
 * Parses a request body or query with its schema, or answers 400 naming each bad field and why
 * (`{ message, problems: ['query.status: Invalid enum value…'] }`): bad input is the caller's to fix.
 */
export function parseRequest<S extends z.ZodTypeAny>(schema: S, value: unknown, what: 'body' | 'query'): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data as z.infer<S>;
  const problems = result.error.issues.map((i) => `${[what, ...i.path].join('.')}: ${i.message}`);
  throw new BadRequestException({ statusCode: 400, message: `invalid ${what}: ${problems.join('; ')}`, problems });
}
