import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { HARNESS_SUITES_WITHOUT_TEMPORAL, PRODUCTION_TEMPORAL_SUITES } from '../support/production-temporal-suites.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const integration = readdirSync(`${root}test/integration`)
  .filter((name) => name.endsWith('.test.ts'))
  .map((name) => `test/integration/${name}`);
/** The files whose Temporal server ONRAMP_TEST_TEMPORAL chooses: the ones that start an OnrampHarness. */
const harnessSuites = integration.filter((path) => /new OnrampHarness\(/.test(readFileSync(`${root}${path}`, 'utf8')));

describe("test:production-temporal's files", () => {
  it('are the harness suites, less the ones named with a reason', () => {
    expect([...PRODUCTION_TEMPORAL_SUITES, ...Object.keys(HARNESS_SUITES_WITHOUT_TEMPORAL)].sort()).toEqual(harnessSuites.sort());
  });

  it('each names an integration file once', () => {
    expect(new Set(PRODUCTION_TEMPORAL_SUITES).size).toBe(PRODUCTION_TEMPORAL_SUITES.length);
    for (const path of PRODUCTION_TEMPORAL_SUITES) expect(integration).toContain(path);
  });
});
