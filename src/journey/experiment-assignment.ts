import type { Experiment, ExperimentVariant } from '../rules/rules-schema.ts';

/**
 * Which variant of an experiment a developer gets: drawn once and for good from a hash of the
 * experiment id and the developer id, so the journey needs no stored draw and every replay draws
 * the same. Pure (the workflow sandbox runs it): no clock, no crypto module.
 *
 * Not `holdoutBucket`: that is FNV-1a of the developer id alone, whose low bits a suffix barely
 * changes, so an assignment derived from it would correlate with being held out. Here the
 * experiment id comes first and the result goes through MurmurHash3's finaliser, whose every
 * output bit depends on every input bit.
 */
export function experimentDraw(developerId: string, experimentId: string): number {
  const key = `${experimentId}\u0000${developerId}`;
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return (hash >>> 0) / 2 ** 32;
}

/**
 * The weights adaptive experiments draw new developers with, by experiment id then variant id
 * (measured by the worker: src/metrics/experiment-allocations.ts); an experiment absent here
 * draws with its document's weights.
 */
export type ExperimentAllocations = Record<string, Record<string, number>>;

/**
 * The variant whose share of the weights the developer's draw falls in: the document's weights,
 * or `allocation`'s when it weighs every variant (the same draw, other cut points).
 */
export function assignVariant(developerId: string, experiment: Pick<Experiment, 'id' | 'variants'>, allocation?: Record<string, number>): ExperimentVariant {
  const weightOf =
    allocation && experiment.variants.every((v) => allocation[v.id] !== undefined) ? (v: ExperimentVariant) => allocation[v.id]! : (v: ExperimentVariant) => v.weight;
  const total = experiment.variants.reduce((sum, v) => sum + weightOf(v), 0);
  let point = experimentDraw(developerId, experiment.id) * total;
  for (const variant of experiment.variants) {
    if (point < weightOf(variant)) return variant;
    point -= weightOf(variant);
  }
  return experiment.variants.at(-1)!; // rounding at the very top
}
