import { createServer } from 'node:net';

/** Linux hands out ports from 32768 for outgoing connections (`ip_local_port_range`). */
const EPHEMERAL_FROM = 32_768;
const LOWEST = 10_000;

/**
 * A port on 127.0.0.1 that nothing listens on now, for a local server about to start (tests,
 * benchmarks, the test Temporal servers). Picked at random below the ephemeral range: a port the
 * kernel picks (`listen(0)`) comes from that range, where any process's next outgoing connection
 * may take it before our server binds it (CI met "bind: address already in use" that way).
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const wanted = LOWEST + Math.floor(Math.random() * (EPHEMERAL_FROM - LOWEST));
    const free = await new Promise<boolean>((resolve) => {
      const probe = createServer();
      probe.once('error', () => resolve(false));
      probe.listen(wanted, '127.0.0.1', () => probe.close(() => resolve(true)));
    });
    if (free) return wanted;
  }
  throw new Error(`no free port found in [${LOWEST}, ${EPHEMERAL_FROM})`);
}
