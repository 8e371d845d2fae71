import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { funnelFormat } from '../../funnel/funnel-file.ts';
import { configJsonSchema } from '../../rules/config-json-schema.ts';

/** `GET /v1/schemas/funnel`: the funnel file format (config/funnel.yaml) as JSON Schema, no key needed, as the rules' is. */
export const funnelRoute: FastifyPluginAsyncZod = async (app) => {
  const jsonSchema = configJsonSchema(funnelFormat);
  app.get(
    '/v1/schemas/funnel',
    { config: { static: true }, schema: { summary: 'The funnel file format as JSON Schema (draft 2020-12)', response: { 200: z.record(z.string(), z.unknown()) } } },
    async () => jsonSchema,
  );
};
