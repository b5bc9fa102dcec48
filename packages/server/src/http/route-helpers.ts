import type { z } from '@hono/zod-openapi';

/** Shorthands for route declarations: a JSON response and a required JSON body. */
export const jsonResponse = <T extends z.ZodTypeAny>(schema: T, description: string) => ({ description, content: { 'application/json': { schema } } });
export const jsonBody = <T extends z.ZodTypeAny>(schema: T) => ({ required: true, content: { 'application/json': { schema } } });
