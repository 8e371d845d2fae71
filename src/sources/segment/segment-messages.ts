import { z } from 'zod';
import { isoInstant } from '../../events/instant.ts';

/**
 * Segment's HTTP Tracking API payloads (https://segment.com/docs/connections/sources/catalog/libraries/server/http-api/):
 * the `track`, `identify` and `page` calls and the `batch` of them. Fields Onramp does not read
 * (`context`, `integrations`, `_metadata`, …) are accepted and kept with the event where it has
 * room for them; the ones it reads are validated.
 */

const text = (max: number) => z.string().trim().min(1, 'must not be empty').max(max);
/** Segment ids may be numbers in some libraries; they are stored as text. */
const userId = z.union([text(256), z.number().transform(String)]);
const free = z.looseObject({});

const common = {
  messageId: text(200).describe('the idempotency key: a message sent again (a retry) is a duplicate'),
  userId: userId.optional().describe('the developerId'),
  anonymousId: userId.optional(),
  timestamp: isoInstant.optional().describe('when it happened (default: when Onramp received it)'),
  context: free.optional(),
  integrations: free.optional(),
};

const track = { ...common, event: text(200).describe('the event name, "Object Action" ("API Key Created")'), properties: free.default({}) };
const identify = { ...common, traits: free.default({}) };
const page = { ...common, name: z.string().max(200).optional(), category: z.string().max(200).optional(), properties: free.default({}) };

/** A single call's body (`type` optional: the path says it). */
export const trackMessage = z.looseObject({ ...track, type: z.literal('track').optional() });
export const identifyMessage = z.looseObject({ ...identify, type: z.literal('identify').optional() });
export const pageMessage = z.looseObject({ ...page, type: z.literal('page').optional() });

/** A message of a batch (`type` says which call). */
export const segmentMessage = z.discriminatedUnion('type', [
  z.looseObject({ ...track, type: z.literal('track') }),
  z.looseObject({ ...identify, type: z.literal('identify') }),
  z.looseObject({ ...page, type: z.literal('page') }),
]);
export type SegmentMessage = z.output<typeof segmentMessage>;

/** Segment's limits: 32 KB a message, 500 KB a batch. */
export const MAX_MESSAGE_BYTES = 32 * 1024;
export const MAX_BATCH_BYTES = 500 * 1024;

export const batchBody = z.looseObject({
  batch: z.array(segmentMessage).min(1, 'must hold at least one message'),
  context: free.optional(),
});

/** Segment's answer, with what Onramp made of the messages. */
export const segmentAccepted = z.object({
  success: z.literal(true),
  accepted: z.int().describe('messages stored'),
  duplicates: z.int().describe('messages whose messageId was already stored (changed nothing)'),
  unattributed: z.int().describe('stored messages not (yet) attributed to a developer (a track carrying only an apiKey)'),
  deleted: z.int().describe('messages of deleted developers: not stored'),
});
