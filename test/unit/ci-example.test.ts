import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/program.ts';
import { parseFailIf } from '../../src/preview/fail-if.ts';

/** examples/ci/rules-gate.yml, the GitHub Actions workflow the growth team guide documents: it parses, and says only what the CLI understands. */

const source = readFileSync('examples/ci/rules-gate.yml', 'utf8');
const workflow = parse(source) as {
  on: { pull_request: { paths: string[] } };
  jobs: Record<string, { steps: { name?: string; run?: string; uses?: string; env?: Record<string, string> }[] }>;
};
const steps = Object.values(workflow.jobs).flatMap((job) => job.steps);
const runs = steps.flatMap((step) => (step.run ? [step.run] : [])).join('\n');

describe('the example rules gate workflow', () => {
  it('runs on pull requests that touch config/rules.yaml: validate, then preview with thresholds', () => {
    expect(workflow.on.pull_request.paths).toEqual(['config/rules.yaml']);
    expect(runs).toContain('npm run -s onramp -- rules validate config/rules.yaml');
    expect(runs).toContain('npm run -s onramp -- rules preview config/rules.yaml');
    expect(steps.find((s) => s.name === 'preview against the rules in force')?.env).toMatchObject({ DATABASE_URL: '${{ secrets.ONRAMP_HISTORY_DATABASE_URL }}' });
  });

  it('every --fail-if threshold in it parses', () => {
    const thresholds = [...runs.matchAll(/--fail-if '([^']+)'/g)].map((m) => m[1]!);
    expect(thresholds.length).toBeGreaterThanOrEqual(3);
    for (const threshold of thresholds) expect(() => parseFailIf(threshold), threshold).not.toThrow();
  });

  it('every option it passes to onramp rules preview exists', () => {
    const preview = buildProgram()
      .commands.find((c) => c.name() === 'rules')!
      .commands.find((c) => c.name() === 'preview')!;
    const known = new Set(preview.options.map((o) => o.long));
    const used = new Set([...runs.matchAll(/(?<![\w-])(--[a-z][a-z-]*)/g)].map((m) => m[1]!));
    expect([...used].filter((option) => !known.has(option))).toEqual([]);
  });
});
