import { Client } from '@temporalio/client';
import { shippedFunnelInForce } from '../support/shipped-funnel.ts';
import type { Command } from 'commander';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/build-app.ts';
import { buildProgram } from '../../src/cli/program.ts';
import { openDatabase } from '../../src/db/database.ts';
import { BUILT_IN_EVENT_TYPES } from '../../src/events/event-schemas.ts';
import { databaseRegistry } from '../../src/metrics/database-metrics.ts';
import { processRegistry } from '../../src/metrics/process-metrics.ts';
import { envReads } from '../support/env-reads.ts';
import { readMarkdown, rowsUnder, sectionText, type MarkdownDoc } from '../support/markdown-docs.ts';

/**
 * The docs check: the pages a person browses stay true to the code. Pure and fast (no server:
 * the OpenAPI document is built from the app without listening, against an unreachable database).
 */

const root = fileURLToPath(new URL('../../', import.meta.url));
const at = (path: string) => join(root, path);
const rel = (path: string) => relative(root, path);

function markdownFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? markdownFiles(path) : name.endsWith('.md') ? [path] : [];
  });
}

const pages = [at('README.md'), at('bench/RESULTS.md'), ...markdownFiles(at('docs'))].map(readMarkdown);
const page = (path: string) => pages.find((doc) => doc.path === at(path)) ?? readMarkdown(at(path));

/** Names matching `pattern` in the first cell of table rows (every table of the page by default). */
function firstCellNames(doc: MarkdownDoc, pattern: RegExp, rows: MarkdownDoc['tableRows'] = doc.tableRows): Set<string> {
  return new Set(rows.flatMap((row) => [...(row.cells[0] ?? '').matchAll(pattern)].map((m) => m[1]!)));
}

const missing = (want: Iterable<string>, have: Set<string>) => [...want].filter((x) => !have.has(x)).sort();

describe('links', () => {
  it('every relative link and #anchor in README.md, docs/ and bench/RESULTS.md resolves', () => {
    const broken: string[] = [];
    for (const doc of pages) {
      for (const { href, line } of doc.links) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(href)) continue; // http:, https:, mailto:: outside the repo
        const [pathPart, anchor] = decodeURI(href).split('#', 2) as [string, string | undefined];
        const target = pathPart === '' ? doc.path : resolve(dirname(doc.path), pathPart);
        const where = `${rel(doc.path)}:${line}: [${href}]`;
        if (!existsSync(target)) {
          broken.push(`${where}: no file ${rel(target)}`);
          continue;
        }
        if (anchor === undefined) continue;
        if (!target.endsWith('.md')) {
          broken.push(`${where}: an anchor into a file that is not Markdown`);
          continue;
        }
        const anchors = (pages.find((p) => p.path === target) ?? readMarkdown(target)).anchors;
        if (!anchors.has(anchor)) broken.push(`${where}: no heading with anchor #${anchor} in ${rel(target)}`);
      }
    }
    expect(broken, `broken links:\n${broken.join('\n')}`).toEqual([]);
  });

  it('every repository path named in code spans exists (patterns with <, * or { left out)', () => {
    const stale: string[] = [];
    for (const doc of pages) {
      doc.lines.forEach((text, index) => {
        for (const [, path] of text.matchAll(/`((?:src|test|bench|scripts|workflows|config|templates|prisma|schemas|docs|bin)\/[^`\s]*)`/g)) {
          if (/[<*{]/.test(path!)) continue;
          if (!existsSync(at(path!.split('#')[0]!))) stale.push(`${rel(doc.path)}:${index + 1}: ${path}`);
        }
      });
    }
    expect(stale, `paths that no longer exist:\n${stale.join('\n')}`).toEqual([]);
  });

  it('the README links every docs page directly (any task two clicks away)', () => {
    const readme = page('README.md');
    const linked = new Set(readme.links.map(({ href }) => resolve(root, href.split('#')[0]!)));
    const unlinked = pages.filter((doc) => doc.path.startsWith(at('docs/')) && !linked.has(doc.path)).map((doc) => rel(doc.path));
    expect(unlinked, `docs pages the README does not link: ${unlinked.join(', ')}`).toEqual([]);
  });
});

describe('CLI reference (docs/reference/cli.md)', () => {
  const cli = page('docs/reference/cli.md');
  const documented = cli.headings.filter((h) => /^onramp( [a-z][\w-]*)+$/.test(h.text));

  /** Every command of the program with its path (`onramp rules apply`), `help` left out. */
  function commands(command: Command, path: string): { path: string; command: Command }[] {
    return command.commands.filter((sub) => sub.name() !== 'help').flatMap((sub) => [{ path: `${path} ${sub.name()}`, command: sub }, ...commands(sub, `${path} ${sub.name()}`)]);
  }
  const program = commands(buildProgram(), 'onramp');

  it('documents every command, and every command it documents exists', () => {
    const headings = new Set(documented.map((h) => h.text));
    const leaves = program.filter(({ command }) => command.commands.length === 0).map(({ path }) => path);
    const groups = program.filter(({ command }) => command.commands.length > 0).map(({ path }) => path);
    const text = cli.lines.join('\n');
    expect(missing(leaves, headings), 'commands without a heading `onramp …` in docs/reference/cli.md').toEqual([]);
    expect(
      groups.filter((path) => !text.includes(`\`${path}`)),
      'command groups never named in docs/reference/cli.md',
    ).toEqual([]);
    expect(missing(headings, new Set(program.map(({ path }) => path))), 'documented in docs/reference/cli.md but not a command of src/cli/').toEqual([]);
  });

  it("documents every option in its command's section", () => {
    const undocumented: string[] = [];
    for (const { path, command } of program) {
      const heading = documented.find((h) => h.text === path);
      if (!heading) continue;
      const section = sectionText(cli, heading);
      for (const option of command.options) {
        if (option.long && !new RegExp(`${option.long}(?![\\w-])`).test(section)) undocumented.push(`${path} ${option.long}`);
      }
    }
    expect(undocumented, 'options missing from their command in docs/reference/cli.md').toEqual([]);
  });
});

describe('environment variables', () => {
  const NAME = /`([A-Z][A-Z0-9_]*)`/g;
  const product = envReads([at('src'), at('bin')]);
  const testing = envReads([at('test'), at('bench'), at('scripts')]);
  const configuration = firstCellNames(page('docs/reference/configuration.md'), NAME);
  const contributing = firstCellNames(page('docs/contributing.md'), NAME);

  it('documents every variable src/ and bin/ read in docs/reference/configuration.md, and only those', () => {
    expect(
      missing(product.keys(), configuration).map((name) => `${name} (read in ${rel(product.get(name)!)})`),
      'read by the code, missing from docs/reference/configuration.md',
    ).toEqual([]);
    expect(missing(configuration, new Set(product.keys())), 'documented in docs/reference/configuration.md, read nowhere in src/ or bin/').toEqual([]);
  });

  it('documents the variables only tests, benchmarks and scripts read in docs/contributing.md, and only those', () => {
    const testOnly = [...testing.keys()].filter((name) => !product.has(name) && !configuration.has(name));
    expect(
      missing(testOnly, contributing).map((name) => `${name} (read in ${rel(testing.get(name)!)})`),
      'read by tests, benchmarks or scripts, missing from the table in docs/contributing.md',
    ).toEqual([]);
    expect(missing(contributing, new Set(testing.keys())), 'documented in docs/contributing.md, read nowhere in test/, bench/ or scripts/').toEqual([]);
  });
});

describe('HTTP API reference (docs/reference/http-api.md)', () => {
  const db = openDatabase('postgresql://docs-check@127.0.0.1:1/none');
  let operations: { route: string; keyed: boolean }[] = [];

  beforeAll(async () => {
    const app = await buildApp({
      db,
      temporal: new Client(),
      logger: pino({ level: 'silent' }),
      ingestKeys: ['docs-check-ingest-key'],
      adminKeys: [],
      signingSecret: 'docs-check-signing-secret-0123456789',
      funnel: shippedFunnelInForce,
    });
    await app.ready();
    const paths = (app.swagger() as { paths: Record<string, Record<string, { security?: unknown[] }>> }).paths;
    operations = Object.entries(paths).flatMap(([path, ops]) =>
      Object.entries(ops).map(([method, op]) => ({ route: `${method.toUpperCase()} ${path}`, keyed: (op.security ?? []).length > 0 })),
    );
    await app.close();
  });
  afterAll(() => db.close());

  it('lists every operation of /openapi.json with whether it takes a key, and lists nothing else', () => {
    const rows = new Map(
      rowsUnder(page('docs/reference/http-api.md'), 'Routes')
        .map((row) => ({ route: /^`([A-Z]+ \/[^`]*)`$/.exec(row.cells[0] ?? '')?.[1]?.replace(/:(\w+)/g, '{$1}'), key: row.cells[1] ?? '' }))
        .filter((row): row is { route: string; key: string } => row.route !== undefined)
        .map((row) => [row.route, row.key]),
    );
    expect(operations.length).toBeGreaterThan(30);
    expect(
      missing(
        operations.map((op) => op.route),
        new Set(rows.keys()),
      ),
      'routes of /openapi.json missing from the table in docs/reference/http-api.md',
    ).toEqual([]);
    expect(missing(rows.keys(), new Set(operations.map((op) => op.route))), 'documented in docs/reference/http-api.md, not served').toEqual([]);
    const wrongKey = operations
      .filter((op) => rows.has(op.route) && op.keyed === rows.get(op.route)!.startsWith('none'))
      .map((op) => `${op.route}: ${op.keyed ? 'takes a key' : 'takes no key'}, documented "${rows.get(op.route)}"`);
    expect(wrongKey, 'key column disagrees with /openapi.json').toEqual([]);
  });
});

describe('events and metrics references', () => {
  it('documents every event type in docs/reference/events.md, and only those', () => {
    const types = new Set<string>(BUILT_IN_EVENT_TYPES);
    const events = page('docs/reference/events.md');
    const documented = firstCellNames(events, /`([a-z_]+\.[a-z_]+)`/g, rowsUnder(events, 'Event types'));
    expect(missing(types, documented), 'event types missing from docs/reference/events.md').toEqual([]);
    expect(missing(documented, types), 'documented in docs/reference/events.md, not an event type').toEqual([]);
  });

  it('documents every Prometheus metric Onramp defines in docs/reference/metrics.md, and only those', () => {
    const db = openDatabase('postgresql://docs-check@127.0.0.1:1/none');
    const defined = new Set(
      [
        ...processRegistry.getMetricsAsArray(),
        ...databaseRegistry(db.pool, shippedFunnelInForce, { sources: async () => [], unattributed: async () => ({ waiting: 0, oldestAgeSeconds: null }) }).getMetricsAsArray(),
      ]
        .map((metric) => metric.name)
        .filter((name) => !/^onramp_(process|nodejs)_/.test(name)), // prom-client's defaults, documented as a family
    );
    void db.close();
    const documented = firstCellNames(page('docs/reference/metrics.md'), /`(onramp_[a-z_]+[a-z])`/g);
    expect(missing(defined, documented), 'metrics missing from docs/reference/metrics.md').toEqual([]);
    expect(missing(documented, defined), 'documented in docs/reference/metrics.md, not defined').toEqual([]);
  });
});
