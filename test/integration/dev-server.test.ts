import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, describe, expect, it } from 'vitest';
import { startTemporalDevServer } from '../../src/temporal/dev-server.ts';

const dataDirs: string[] = [];
afterAll(() => dataDirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function tempDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'onramp-dev-server-'));
  dataDirs.push(dir);
  return dir;
}

async function listen(port = 0): Promise<Server> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return server;
}

async function freePort(): Promise<number> {
  const server = await listen();
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function withClient<T>(address: string, namespace: string, use: (client: Client) => Promise<T>): Promise<T> {
  const connection = await Connection.connect({ address });
  try {
    return await use(new Client({ connection, namespace }));
  } finally {
    await connection.close();
  }
}

describe('startTemporalDevServer', () => {
  it('keeps workflows in its SQLite file across a restart, and stops its process', async () => {
    const dataDir = tempDataDir();
    const opts = { dataDir, port: await freePort(), uiPort: await freePort(), namespace: 'onramp-test' };
    const workflowId = 'persisted-across-restart';

    const first = await startTemporalDevServer(opts);
    expect(first.address).toBe(`127.0.0.1:${opts.port}`);
    expect(first.uiUrl).toBe(`http://127.0.0.1:${opts.uiPort}`);
    try {
      // No worker polls this queue: the execution just sits there, RUNNING, in the database.
      await withClient(first.address, opts.namespace, (client) => client.workflow.start('neverExecuted', { taskQueue: 'no-worker', workflowId }));
    } finally {
      await first.stop();
    }
    expect(isRunning(first.pid)).toBe(false);

    const second = await startTemporalDevServer(opts);
    try {
      const description = await withClient(second.address, opts.namespace, (client) => client.workflow.getHandle(workflowId).describe());
      expect(description.type).toBe('neverExecuted');
      expect(description.status.name).toBe('RUNNING');
    } finally {
      await second.stop();
    }
    expect(isRunning(second.pid)).toBe(false);
    // The port is free again, so nothing of the server is left listening.
    (await listen(opts.port)).close();
  }, 90_000);

  it('refuses a port that is already in use', async () => {
    const occupant = await listen();
    const { port } = occupant.address() as { port: number };
    try {
      await expect(startTemporalDevServer({ dataDir: tempDataDir(), port, uiPort: await freePort() })).rejects.toThrow(`port 127.0.0.1:${port} is already in use`);
    } finally {
      occupant.close();
    }
  });

  it('fails with the log when the server exits before serving', async () => {
    const previous = process.env.TEMPORAL_CLI_PATH;
    // A CLI path that does not exist stands in for a server that cannot start.
    process.env.TEMPORAL_CLI_PATH = join(tempDataDir(), 'missing-temporal');
    try {
      await expect(startTemporalDevServer({ dataDir: tempDataDir(), port: await freePort(), uiPort: await freePort() })).rejects.toThrow(
        /Temporal dev server (exited|failed to start)/,
      );
    } finally {
      if (previous === undefined) delete process.env.TEMPORAL_CLI_PATH;
      else process.env.TEMPORAL_CLI_PATH = previous;
    }
  });
});
