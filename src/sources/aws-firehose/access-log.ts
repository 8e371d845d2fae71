import { z } from 'zod';

/**
 * The API Gateway (REST API) access log format the guide gives (docs/guides/sources/aws-api-gateway.md),
 * one JSON object a log line. Every value is quoted in the template, so a variable API Gateway has
 * no value for comes as "-" (absent here); numbers come as text.
 */
export const ACCESS_LOG_FORMAT = JSON.stringify({
  requestId: '$context.requestId',
  requestTimeEpoch: '$context.requestTimeEpoch',
  httpMethod: '$context.httpMethod',
  resourcePath: '$context.resourcePath',
  status: '$context.status',
  apiKey: '$context.identity.apiKey',
  principalId: '$context.authorizer.principalId',
  userAgent: '$context.identity.userAgent',
  responseLatency: '$context.responseLatency',
});

const text = (max: number) => z.string().trim().min(1).max(max);
const optionalText = (max: number) =>
  z
    .string()
    .max(max)
    .optional()
    .transform((v) => (v === undefined || v === '-' || v.trim() === '' ? undefined : v));
const integerText = z.union([z.int(), z.string().regex(/^\d+$/, 'must be a whole number').transform(Number)]);

export const accessLogLine = z.looseObject({
  requestId: text(200),
  requestTimeEpoch: integerText.describe('milliseconds since the epoch'),
  httpMethod: text(16),
  resourcePath: text(512).describe('the resource template, /pets/{petId}'),
  status: integerText,
  apiKey: optionalText(256),
  principalId: optionalText(256),
  userAgent: optionalText(1024),
  responseLatency: z.union([integerText, z.literal('-').transform(() => undefined)]).optional(),
});
export type AccessLogLine = z.output<typeof accessLogLine>;
