import { z } from 'zod';

/**
 * One request as Kong's log serializer writes it (the HTTP Log plugin's body,
 * https://developer.konghq.com/plugins/http-log/): the fields Onramp reads are validated, the rest
 * (`route`, `service`, `upstream_uri`, `tries`, `workspace`, …) accepted and ignored.
 */
export const kongLogEntry = z.looseObject({
  request: z.looseObject({
    id: z.string().min(1).max(200).optional().describe('Kong’s request id (in the log of recent Kong Gateway 3.x releases; older ones have none)'),
    method: z.string().trim().min(1).max(16),
    uri: z.string().min(1).max(4096).describe('the path and query string'),
    url: z.string().max(8192).optional(),
    headers: z.record(z.string(), z.union([z.string(), z.array(z.string())])).default({}),
  }),
  response: z.looseObject({
    status: z.int().min(100).max(599),
    headers: z.record(z.string(), z.union([z.string(), z.array(z.string())])).default({}),
  }),
  consumer: z.looseObject({ id: z.string().optional(), username: z.string().optional(), custom_id: z.string().optional() }).optional(),
  latencies: z.looseObject({ request: z.number().nonnegative().optional() }).optional(),
  started_at: z.int().nonnegative().describe('when Kong received the request, in milliseconds since the epoch'),
  client_ip: z.string().optional(),
});
export type KongLogEntry = z.output<typeof kongLogEntry>;

/** With `queue.max_batch_size` above 1 the plugin sends an array of entries; else one entry. */
export const kongLogBody = z.union([z.array(z.looseObject({})).min(1, 'must hold at least one log entry'), z.looseObject({})]);

/** The queue's default batch is 1; Kong's `queue.max_batch_size` allows up to 1,000 entries. */
export const MAX_KONG_BODY_BYTES = 5 * 1024 * 1024;

export const kongAccepted = z.object({
  accepted: z.int().describe('log entries stored'),
  duplicates: z.int().describe('log entries whose request id was already stored (changed nothing)'),
  unattributed: z.int().describe('stored entries not (yet) attributed to a developer (their key is not mapped yet)'),
  deleted: z.int().describe('entries of deleted developers: not stored'),
});
