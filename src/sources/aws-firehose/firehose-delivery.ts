import { z } from 'zod';

/**
 * Amazon Data Firehose's HTTP endpoint delivery, protocol 1.0
 * (https://docs.aws.amazon.com/firehose/latest/dev/httpdeliveryrequestresponse.html): a body of
 * base64 records, and the answer it expects — 200 with the request id and a timestamp, anything
 * else (with `errorMessage`) a failure it retries, then backs up to S3.
 */
export const firehoseRequest = z.looseObject({
  requestId: z.string().min(1).max(200),
  timestamp: z.int().nonnegative().describe('when Firehose sent it, in milliseconds since the epoch'),
  records: z.array(z.looseObject({ data: z.base64().describe('one record, base64') })).min(1, 'must hold at least one record'),
});

export const firehoseResponse = z.object({
  requestId: z.string().describe('the X-Amz-Firehose-Request-Id of the request'),
  timestamp: z.int().describe('when Onramp answered, in milliseconds since the epoch'),
  errorMessage: z.string().optional().describe('why the request failed (every non-200 answer has one)'),
});

/** A buffer of up to 5 MiB (the guide's setting), base64 and JSON around it included. */
export const MAX_FIREHOSE_BODY_BYTES = 8 * 1024 * 1024;

/** The delivery's common attributes (the stream's "Parameters"), sent as a header. */
export function commonAttribute(header: string | string[] | undefined, name: string): string | undefined {
  const text = Array.isArray(header) ? header[0] : header;
  if (!text) return undefined;
  try {
    const value = (JSON.parse(text) as { commonAttributes?: Record<string, unknown> }).commonAttributes?.[name];
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}
