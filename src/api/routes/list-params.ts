import { z } from 'zod';
import { decodeCursor } from '../../metrics/developer-list.ts';

/** The query parameters of the lists behind a figure (developers, organisations): a cohort, and a page. */

export const cohortParam = z
  .string()
  .regex(/^\d{4}-W\d{2}$/, 'must be an ISO week like 2026-W49')
  .optional();

export const pageParams = {
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z
    .string()
    .max(1000)
    .refine((v) => decodeCursor(v) !== undefined, 'not a cursor from a previous page')
    .optional(),
};
