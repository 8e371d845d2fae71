import { z } from 'zod';

/** The API's one error shape. */
export const errorResponse = z.object({
  errors: z.array(
    z.object({
      index: z.int().optional().describe('position of the offending event in the batch'),
      path: z.string().describe('the field that is wrong, dotted (empty for the request as a whole)'),
      message: z.string(),
    }),
  ),
});
