import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { IngestKeyStore } from '../../keys/key-kinds.ts';
import { bearerAuth } from '../auth.ts';
import { errorResponse } from './error-response.ts';
import { keyAuthor, keyReason, storedKeyHistory } from './stored-key-schemas.ts';

export interface IngestKeysRouteOptions {
  store: IngestKeyStore;
  /** ONRAMP_ADMIN_KEY; ingest keys never manage keys. */
  adminKeys: readonly string[];
}

const keyInfo = z.object({
  id: z.string(),
  source: z.string(),
  ...storedKeyHistory,
});
const author = keyAuthor;
const reason = keyReason;

/** Ingest keys per source: create (the key is shown once), list, revoke. Admin key only; every change is audited. */
export const ingestKeysRoute: FastifyPluginAsyncZod<IngestKeysRouteOptions> = async (app, { store, adminKeys }) => {
  const onRequest = bearerAuth(adminKeys);
  const security = [{ bearer: [] }];

  app.post(
    '/v1/ingest-keys',
    {
      onRequest,
      schema: {
        summary: 'Create an ingest key for a source; the key is in this response only (stored as its SHA-256)',
        security,
        body: z.strictObject({
          source: z
            .string()
            .regex(/^[a-z0-9][a-z0-9_.-]{0,63}$/, 'must be a source name: lower-case letters, digits, `_ . -`, up to 64')
            .describe('what sends with it, e.g. gateway, auth, crm'),
          author,
          reason,
        }),
        response: { 201: keyInfo.extend({ key: z.string().describe('the bearer key: keep it, it cannot be shown again') }), 400: errorResponse, 401: errorResponse },
      },
    },
    async (request, reply) => reply.code(201).send(await store.create(request.body)),
  );

  app.get(
    '/v1/ingest-keys',
    {
      onRequest,
      schema: { summary: 'Ingest keys, oldest first (never the keys themselves)', security, response: { 200: z.object({ keys: z.array(keyInfo) }), 401: errorResponse } },
    },
    async () => ({ keys: await store.list() }),
  );

  app.post(
    '/v1/ingest-keys/:id/revoke',
    {
      onRequest,
      schema: {
        summary: 'Revoke an ingest key: refused from then on (each API process within 5 s)',
        security,
        params: z.object({ id: z.string().min(1).max(64) }),
        body: z.strictObject({ author, reason }),
        response: { 200: z.object({ changed: z.boolean().describe('false: it was already revoked'), key: keyInfo }), 400: errorResponse, 401: errorResponse, 404: errorResponse },
      },
    },
    async (request, reply) => {
      const result = await store.revoke(request.params.id, request.body);
      if (!result) return reply.code(404).send({ errors: [{ path: 'id', message: `no ingest key ${request.params.id}` }] });
      return result;
    },
  );
};
