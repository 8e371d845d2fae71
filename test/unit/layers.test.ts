import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The layers of the code, lowest first. A module may import from its own layer and the layers
 * below it, never from a layer above: the HTTP API and the CLI are built on the rest, and nothing
 * below them reaches back up. A room is a folder of src/ (a file at the top of src/ is its own
 * room), or workflows/.
 */
export const LAYERS: readonly (readonly string[])[] = [
  // foundation: configuration, logging, the package's own files and what is built from them, the database and its audit log
  ['config.ts', 'logger.ts', 'package-root.ts', 'build-cache.ts', 'generated', 'db', 'audit'],
  // the model: the journey (machine, stages, events), the funnel document, rules, cases, the workflow that hosts the journey, and the
  // webhooks that tell of its facts (queued by the statements that record them, so below everything that records)
  ['journey', 'funnel', 'rules', 'events', 'cases', 'workflows', 'webhooks'],
  // the outside systems, one room each: mail, Slack, Temporal (the journey's client, the servers), ingest keys, the metrics queries, the HTTP API's client
  ['mail', 'slack', 'temporal', 'keys', 'metrics', 'client'],
  // what Onramp does with them: ingest and the outbox, the retention of what it stored, the activities, deletion, the simulator, the alerts
  ['ingest', 'retention', 'activities', 'privacy', 'simulator', 'alerts'],
  // the HTTP API, and the ingest sources that speak other systems' HTTP APIs (Segment) beside it
  ['api', 'sources'],
  // one function that puts the API, the outbox dispatcher and the worker together
  ['assembly'],
  // the rule preview (a throwaway assembly)
  ['preview'],
  // the command line
  ['cli'],
];

/** Type-only imports allowed up the layers: the workflow proxies its activities by their signatures (none of their code is in the workflow bundle). */
const TYPE_ONLY_UPWARDS: readonly (readonly [string, string])[] = [['workflows', 'activities']];

const root = fileURLToPath(new URL('../..', import.meta.url));

/** The room of a repository path, or undefined outside src/ and workflows/. */
function roomOf(path: string): string | undefined {
  const parts = path.split('/');
  if (parts[0] === 'workflows') return 'workflows';
  if (parts[0] !== 'src') return undefined;
  return parts[1];
}

/** The relative imports (static, dynamic, re-exports) of a source text; `typeOnly` for `import type … from`. */
export function importedPaths(source: string): { spec: string; typeOnly: boolean }[] {
  return [...source.matchAll(/\b(import\s+type\b[^'"]*?\bfrom\s*|from\s*|import\s*\(?\s*)['"](\.{1,2}\/[^'"]+)['"]/g)].map((m) => ({
    spec: m[2]!,
    typeOnly: m[1]!.startsWith('import') && /^import\s+type\b/.test(m[1]!),
  }));
}

/** Each import that reaches a layer above its own: `file -> target (room → room)`. */
export function violations(files: readonly { path: string; source: string }[], layers: readonly (readonly string[])[] = LAYERS): string[] {
  const rank = new Map(layers.flatMap((rooms, i) => rooms.map((room) => [room, i] as const)));
  const found: string[] = [];
  for (const { path, source } of files) {
    const from = roomOf(path);
    if (from === undefined) continue;
    if (!rank.has(from)) {
      found.push(`${path}: room ${from} is in no layer`);
      continue;
    }
    for (const { spec, typeOnly } of importedPaths(source)) {
      const target = normalize(join(dirname(path), spec));
      const to = roomOf(target);
      if (to === undefined || to === from) continue;
      if (!rank.has(to)) found.push(`${path} -> ${target}: room ${to} is in no layer`);
      else if (rank.get(to)! > rank.get(from)! && !(typeOnly && TYPE_ONLY_UPWARDS.some(([a, b]) => a === from && b === to)))
        found.push(`${path} -> ${target} (${from} → ${to}: a layer above)`);
    }
  }
  return found;
}

function sourceFiles(dir: string): { path: string; source: string }[] {
  return (readdirSync(join(root, dir), { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[])
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => relative(root, join(entry.parentPath, entry.name)))
    .filter((path) => !path.startsWith('src/generated/'))
    .map((path) => ({ path, source: readFileSync(join(root, path), 'utf8') }));
}

describe('layers', () => {
  it('no module in src/ or workflows/ imports from a layer above its own', () => {
    const files = [...sourceFiles('src'), ...sourceFiles('workflows')];
    expect(files.length).toBeGreaterThan(100);
    expect(violations(files)).toEqual([]);
  });

  it('finds an import that runs back up, and a room in no layer', () => {
    const files = [
      { path: 'src/ingest/x.ts', source: "import { buildApp } from '../api/build-app.ts';\nimport type { Stage } from '../journey/stages.ts';" },
      { path: 'src/privacy/y.ts', source: "const { main } = await import('../cli/main.ts');" },
      {
        path: 'workflows/z.ts',
        source:
          "export { feedJourney } from '../src/temporal/journey-client.ts';\nimport type { NudgeActivities } from '../src/activities/nudge-activities.ts';\nimport { createNudgeActivities } from '../src/activities/nudge-activities.ts';",
      },
      { path: 'src/newroom/w.ts', source: "import { x } from './v.ts';" },
    ];
    expect(violations(files)).toEqual([
      'src/ingest/x.ts -> src/api/build-app.ts (ingest → api: a layer above)',
      'src/privacy/y.ts -> src/cli/main.ts (privacy → cli: a layer above)',
      'workflows/z.ts -> src/temporal/journey-client.ts (workflows → temporal: a layer above)',
      'workflows/z.ts -> src/activities/nudge-activities.ts (workflows → activities: a layer above)',
      'src/newroom/w.ts: room newroom is in no layer',
    ]);
  });
});
