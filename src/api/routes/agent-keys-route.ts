import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AgentKeyStore } from '../../keys/key-kinds.ts';
import { bearerAuth } from '../auth.ts';
import { errorResponse } from './error-response.ts';
import { keyAuthor, keyReason, storedKeyHistory } from './stored-key-schemas.ts';

export interface AgentKeysRouteOptions {
  store: AgentKeyStore;
  /** ONRAMP_ADMIN_KEY; agent keys never manage keys. */
  adminKeys: readonly string[];
}

const keyInfo = z.object({
  id: z.string(),
  name: z.string().describe('who acts with it: the case log and ownership use this name'),
  ...storedKeyHistory,
});
const author = keyAuthor;
const reason = keyReason;

/** Agent keys per person: create (the key is shown once), list, revoke. Admin key only; every change is audited. */
export const agentKeysRoute: FastifyPluginAsyncZod<AgentKeysRouteOptions> = async (app, { store, adminKeys }) => {
  const onRequest = bearerAuth(adminKeys);
  const security = [{ bearer: [] }];

  app.post(
    '/v1/agent-keys',
    {
      onRequest,
      schema: {
        summary: "Create a person's agent key; the key is in this response only (stored as its SHA-256)",
        description: 'On the handoff endpoints the key acts as its name: the case log and the ownership of claimed cases use it.',
        security,
        body: z.strictObject({
          // As long as an `actor` may be: the name is the actor.
          name: z.string().max(200).regex(/\S/, 'must not be blank').trim().describe('who acts with it: an email or a name, e.g. ana@example.com'),
          author: author.default('admin'),
          reason,
        }),
        response: {
          201: keyInfo.extend({ key: z.string().describe('the bearer key (`onr_ak_…`): hand it to the person, it cannot be shown again') }),
          400: errorResponse,
          401: errorResponse,
        },
      },
    },
    async (request, reply) => reply.code(201).send(await store.create(request.body)),
  );

  app.get(
    '/v1/agent-keys',
    {
      onRequest,
      schema: {
        summary: 'Agent keys, oldest first, revoked ones too (never the keys themselves)',
        security,
        response: { 200: z.object({ keys: z.array(keyInfo) }), 401: errorResponse },
      },
    },
    async () => ({ keys: await store.list() }),
  );

  app.delete(
    '/v1/agent-keys/:id',
    {
      onRequest,
      schema: {
        summary: 'Revoke an agent key: refused from then on (each API process within 5 s); revoking it again changes nothing',
        security,
        params: z.object({ id: z.string().min(1).max(64) }),
        querystring: z.object({ author: author.optional(), reason }),
        response: { 200: z.object({ changed: z.boolean().describe('false: it was already revoked'), key: keyInfo }), 400: errorResponse, 401: errorResponse, 404: errorResponse },
      },
    },
    async (request, reply) => {
      const result = await store.revoke(request.params.id, { author: request.query.author ?? 'admin', reason: request.query.reason });
      if (!result) return reply.code(404).send({ errors: [{ path: 'id', message: `no agent key ${request.params.id}` }] });
      return result;
    },
  );
};
