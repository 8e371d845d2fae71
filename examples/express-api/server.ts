/**
 * A tiny API that reports its traffic to Onramp with @onramp/node: `npm run example:middleware`
 * beside a running Onramp (`npm start`). ONRAMP_URL (default http://localhost:3000), ONRAMP_INGEST_KEY
 * (default: the key `npm start` wrote to .data/ingest-key), PORT (default 4000).
 *
 *   curl -H 'Authorization: Bearer sk_test_123' http://localhost:4000/v1/widgets/42
 *
 * In your own app, import from '@onramp/node' instead of the repository path.
 */
import { readFileSync } from 'node:fs';
import express from 'express';
import { OnrampRecorder, onrampExpress } from '../../packages/onramp-node/src/index.ts';

const ingestKey = process.env.ONRAMP_INGEST_KEY ?? readFileSync(new URL('../../.data/ingest-key', import.meta.url), 'utf8').trim();
const recorder = new OnrampRecorder({
  url: process.env.ONRAMP_URL ?? 'http://localhost:3000',
  ingestKey,
  flushIntervalMs: 2_000,
  onError: (error) => console.warn(`onramp: ${error.events} events not taken (${error.message})${error.willRetry ? ', retrying' : ''}`),
});

const app = express();
app.use(express.json());
// Before the routes: every request is recorded when its response finishes.
app.use(onrampExpress(recorder));

const widgets = express.Router();
// The caller's key as the API checks it: any `sk_test_…` or `sk_live_…` will do here.
widgets.use((req, res, next) => {
  if (/^Bearer sk_(test|live)_\w+$/.test(req.headers.authorization ?? '')) next();
  else res.status(401).json({ error: 'missing or invalid API key' });
});
widgets.get('/widgets', (_req, res) => {
  res.json([{ id: '42', name: 'sprocket' }]);
});
widgets.get('/widgets/:id', (req, res) => {
  if (req.params.id === '42') res.json({ id: '42', name: 'sprocket' });
  else res.status(404).json({ error: 'no such widget' });
});
widgets.post('/widgets', (req, res) => {
  if (typeof req.body?.name !== 'string') res.status(400).json({ error: 'name is required' });
  else res.status(201).json({ id: '43', name: req.body.name });
});
app.use('/v1', widgets);

const port = Number(process.env.PORT ?? 4000);
const server = app.listen(port, () => console.log(`example API on http://localhost:${port}, reporting to Onramp`));

// On shutdown, send what is still queued (at most 10 s).
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    server.close();
    void recorder.close().then(() => console.log(`onramp: ${JSON.stringify(recorder.stats())}`));
  });
}
