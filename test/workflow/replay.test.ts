import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import proto from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { JOURNEY_VERSIONS } from '../../src/journey/journey-versions.ts';
import { journeyWorkflowBundle } from '../support/workflow-bundle.ts';

const { temporal } = proto;
const dir = fileURLToPath(new URL('../fixtures/histories/', import.meta.url));
const histories = readdirSync(dir).filter((f) => f.endsWith('.binpb'));

/**
 * Every released workflow/machine version's recorded history must replay against the current
 * code (scripts/record-history.ts records one): a change that alters the commands a running
 * journey issues without `patched()` or a version branch fails here, not in production.
 * docs/concepts/versioning.md tells how to record one.
 */
describe('recorded journey histories replay against the current workflow code', () => {
  it('holds a recorded history of every version (journey-machine-v<version>…)', () => {
    const recorded = new Set(histories.map((f) => Number(/^journey-machine-v(\d+)/.exec(f)?.[1])));
    expect(JOURNEY_VERSIONS.filter((v) => !recorded.has(v.version))).toEqual([]);
  });

  it.each(histories)('%s', async (file) => {
    const history = temporal.api.history.v1.History.decode(readFileSync(`${dir}${file}`));
    expect(history.events.length).toBeGreaterThan(5);
    await Worker.runReplayHistory({ workflowBundle: journeyWorkflowBundle() }, history, `onboarding/replay/${file}`);
  });
});
