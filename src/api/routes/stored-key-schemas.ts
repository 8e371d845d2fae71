import { z } from 'zod';

/** What the admin API shows of any stored key (ingest, agent) besides its id and what it is for: who made and revoked it, when. */
export const storedKeyHistory = {
  createdAt: z.string(),
  createdBy: z.string(),
  revokedAt: z.string().nullable(),
  revokedBy: z.string().nullable(),
};

/** Who creates or revokes a key, and why: kept in the audit trail. */
export const keyAuthor = z.string().max(200).regex(/\S/, 'must name who does this').trim();
export const keyReason = z.string().max(1000).trim().optional();
