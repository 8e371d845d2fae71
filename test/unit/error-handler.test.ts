import Fastify from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { errorHandler } from '../../src/api/error-handler.ts';

const pgError = (code: string, message: string) => Object.assign(new Error(message), { code });

describe('errorHandler: PostgreSQL errors', () => {
  const app = Fastify({ logger: false });
  app.setErrorHandler(errorHandler);
  app.get('/fail/:code', async (request) => {
    const { code } = request.params as { code: string };
    throw pgError(code, `error ${code}`);
  });
  afterAll(() => app.close());

  it.each([
    ['40P01', 'a deadlock PostgreSQL broke by rolling this transaction back'],
    ['40001', 'a serialization failure'],
    ['57P03', 'a server still recovering'],
    ['08006', 'a lost connection'],
  ])('%s (%s) is a 503 with Retry-After: the request can be sent again as it is', async (code) => {
    const response = await app.inject({ method: 'GET', url: `/fail/${code}` });
    expect(response.statusCode).toBe(503);
    expect(response.headers['retry-after']).toBe('5');
    expect(response.json()).toEqual({ errors: [{ path: '', message: 'storage unavailable, retry later' }] });
  });

  it('a constraint violation is a 500: a bug, not something to retry', async () => {
    const response = await app.inject({ method: 'GET', url: '/fail/23505' });
    expect(response.statusCode).toBe(500);
    expect(response.headers['retry-after']).toBeUndefined();
  });
});
