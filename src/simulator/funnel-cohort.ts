import { isDeepStrictEqual } from 'node:util';
import { compileFunnel, evaluateFunnel, type CompiledFunnel, type FunnelEvent } from '../funnel/evaluate-funnel.ts';
import { shippedFunnel } from '../funnel/funnel-file.ts';
import { stageLabel, stageWithRole } from '../funnel/funnel-in-force.ts';
import type { FunnelDocument } from '../funnel/funnel-schema.ts';
import { evidenceMaker, type DraftEvent, type EvidenceMaker } from './evidence-events.ts';
import { DOCS_BEFORE_SIGNUP, RAW_USER_AGENTS, SDK_USER_AGENTS, signupProperties, stepsAfterSignup, type Persona } from './personas.ts';
import type { Rng } from './random.ts';
import type { SimulatedDeveloper } from './simulation-types.ts';
import { generateCohort, startDeveloper, type CohortOptions } from './synthetic-cohort.ts';
import { Timeline } from './timeline.ts';

/**
 * A synthetic cohort for a funnel: the personas' own journeys for the shipped funnel (its stages
 * and evidence: synthetic-cohort.ts); for a funnel of your own, the same people (personas.ts) go
 * through its stages in order with the personas' drop-off, each stage reached by events made from
 * its evidence (evidence-events.ts). Every stage a developer is meant to reach is checked against
 * the funnel's own evaluation (evaluate-funnel.ts) before it is kept: its events prove it at the
 * intended instant and prove nothing else that developer has not reached. What cannot be
 * simulated is said in `notes`, never left silently empty.
 */

export interface FunnelCohort {
  developers: SimulatedDeveloper[];
  /** What the simulator could not make happen, for people; empty for the shipped funnel. */
  notes: string[];
}

/** Draws per stage before a developer gives up on it: each draws the evidence, its open choices and (longer each time) the delay. */
const ATTEMPTS = 6;

export function generateFunnelCohort(funnel: FunnelDocument, options: CohortOptions): FunnelCohort {
  if (isShippedFunnel(funnel)) return { developers: generateCohort(options), notes: [] };
  const plan = planFunnel(funnel);
  const stopped: Stopped[] = funnel.stages.map(() => ({ profile: 0, conflicts: 0, alsoProved: new Set() }));
  const first = options.firstIndex ?? 0;
  const developers = Array.from({ length: options.developers }, (_, i) => simulateDeveloper(plan, options, first + i, stopped));
  const name = (i: number) => `stage ${funnel.stages[i]!.id} (${stageLabel(funnel, funnel.stages[i]!.id)})`;
  const notes = [
    ...plan.notes,
    ...stopped.flatMap(({ profile, conflicts, alsoProved }, i) => [
      ...(profile > 0 ? [`${name(i)}: ${profile} developers stopped before it: their signup does not have its developer.signed_up \`where\``] : []),
      ...(conflicts > 0
        ? [
            `${name(i)}: ${conflicts} developers stopped before it: the events drawn for its evidence also proved ${[...alsoProved].join(', ') || 'nothing it needs'} (evidence that overlaps, out of order)`,
          ]
        : []),
    ]),
  ];
  return { developers, notes };
}

/** The shipped funnel's stages and evidence, whatever the labels: the personas' own journeys produce it. */
function isShippedFunnel(funnel: FunnelDocument): boolean {
  const shape = (document: FunnelDocument) => document.stages.map(({ id, evidence }) => ({ id, evidence }));
  return isDeepStrictEqual(shape(funnel), shape(shippedFunnel().document));
}

interface FunnelPlan {
  funnel: FunnelDocument;
  compiled: CompiledFunnel;
  /** Per stage, the makers of its evidence that can be made (events or the signup). */
  makers: Exclude<EvidenceMaker, { kind: 'none' }>[][];
  notes: string[];
}

function planFunnel(funnel: FunnelDocument): FunnelPlan {
  const compiled = compileFunnel(funnel);
  const notes: string[] = [];
  const makers = funnel.stages.map((stage, i) => {
    const all = stage.evidence.map((evidence, j) => evidenceMaker(evidence, compiled.stages[i]!.evidence[j]!));
    const usable = all.filter((maker) => maker.kind !== 'none');
    all.forEach((maker, j) => {
      if (maker.kind === 'none') notes.push(`cannot simulate stages[${i}] (${stage.id}) evidence[${j}]: ${maker.reason}`);
    });
    if (usable.length === 0) notes.push(`stage ${stage.id} (${stageLabel(funnel, stage.id)}) is not simulated: no developer reaches it`);
    return usable;
  });
  return { funnel, compiled, makers, notes };
}

/** A developer's events as they are drawn, each at an instant of its own, with the stages they are meant to prove. */
class DraftHistory {
  readonly events: DraftEvent[] = [];
  /** Stage → the instant its proof is meant to be at. */
  readonly reached = new Map<string, number>();

  constructor(private readonly compiled: CompiledFunnel) {}

  /** `at`, or the nearest free instant in `direction`: no two events share one, so no proof rests on an id's order. */
  free(at: number, direction: 1 | -1, taken = new Set(this.events.map((e) => e.at))): number {
    let t = Math.floor(at);
    while (taken.has(t)) t += direction;
    return t;
  }

  /**
   * Keeps `drafts` if, with them, the events prove exactly the stages reached so far and `stage` at
   * its last draft's instant; else names the stages they would prove besides (or earlier).
   */
  tryReach(stage: string, drafts: DraftEvent[]): { kept: true } | { kept: false; alsoProved: string[] } {
    const at = drafts.at(-1)!.at;
    const expected = new Map([...this.reached, [stage, at]]);
    // A threshold partly met by earlier requests needs fewer of the new ones: drop the earliest while it is met too soon.
    for (let kept = drafts; ; kept = kept.slice(1)) {
      const proofs = this.evaluate([...this.events, ...kept]);
      const wrong = [...proofs].filter(([id, proof]) => id !== stage && expected.get(id) !== proof).map(([id]) => id);
      if (wrong.length === 0 && proofs.get(stage) === at) {
        this.events.push(...kept);
        this.reached.set(stage, at);
        return { kept: true };
      }
      if (wrong.length > 0 || kept.length === 1 || !((proofs.get(stage) ?? Infinity) < at)) return { kept: false, alsoProved: wrong };
    }
  }

  /** The stages the events prove, by the funnel's own evaluation, and when. */
  evaluate(events: readonly DraftEvent[]): Map<string, number> {
    const asStored: FunnelEvent[] = events.map((e, i) => ({ id: String(i), type: e.type, occurredAt: new Date(e.at).toISOString(), properties: e.properties }));
    return new Map([...evaluateFunnel(this.compiled, asStored)].map(([stage, proof]) => [stage, Date.parse(proof.occurredAt)]));
  }
}

/** Per stage, the developers who were to reach it and could not, and why. */
interface Stopped {
  /** Their signup lacks what the stage's only evidence, developer.signed_up, asks. */
  profile: number;
  /** Every draw of its evidence proved another stage too (or earlier): these. */
  conflicts: number;
  alsoProved: Set<string>;
}

function simulateDeveloper(plan: FunnelPlan, options: CohortOptions, index: number, stopped: Stopped[]): SimulatedDeveloper {
  const { rng, persona, until } = startDeveloper(options, index);
  const { funnel } = plan;
  const history = new DraftHistory(plan.compiled);
  const signedUpAt = Math.floor(persona.signedUpAt);
  history.events.push({ type: 'developer.signed_up', at: signedUpAt, properties: signupProperties(persona.profile) });
  for (const [stage, at] of history.evaluate(history.events)) history.reached.set(stage, at);

  const ids = funnel.stages.map((stage) => stage.id);
  const madeBy = (i: number) => plan.makers[i]!.filter((maker) => maker.kind === 'events');
  /** Whether stage `i` was reached, at `at(attempt)` for the first attempt that works; else the stages the attempts proved besides. */
  const reach = (i: number, at: (attempt: number) => number): true | Set<string> => {
    const alsoProved = new Set<string>();
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const drafts = rng.pick(madeBy(i)).make(rng, persona.profile.id, history.free(at(attempt), 1));
      // Each earlier draft on a free instant too (at or just before the one drawn), the last kept where it is.
      const taken = new Set(history.events.map((e) => e.at));
      const placed = [...drafts].reverse().map((draft) => {
        const free = history.free(draft.at, -1, taken);
        taken.add(free);
        return { ...draft, at: free };
      });
      const tried = history.tryReach(ids[i]!, placed.reverse());
      if (tried.kept) return true;
      for (const stage of tried.alsoProved) alsoProved.add(stage);
    }
    return alsoProved;
  };

  // The stages before the first one the signup proves (reading up, like the docs): each by most, before the signup.
  const entry = ids.findIndex((id) => history.reached.has(id));
  let before = signedUpAt;
  for (let i = entry - 1; i >= 0; i--) {
    if (madeBy(i).length === 0 || !rng.chance(DOCS_BEFORE_SIGNUP.share)) continue;
    const at = before - rng.logNormal(DOCS_BEFORE_SIGNUP.medianMs, 1);
    if (reach(i, (attempt) => at - attempt * DOCS_BEFORE_SIGNUP.medianMs) === true) before = history.reached.get(ids[i]!)!;
  }

  // After it, stage by stage with the personas' drop-off, until the developer stops or the history ends.
  const steps = stepsAfterSignup(persona.behaviour);
  let previous = signedUpAt;
  let step = 0;
  for (let i = entry + 1; i < ids.length && previous <= until; i++) {
    const proved = history.reached.get(ids[i]!);
    if (proved !== undefined) {
      previous = Math.max(previous, proved);
      continue;
    }
    if (plan.makers[i]!.length === 0) continue; // not simulated: the notes say so once for the cohort
    const { chance, delayMs } = steps[Math.min(step++, steps.length - 1)]!;
    if (!rng.chance(chance)) break;
    if (madeBy(i).length === 0) {
      stopped[i]!.profile++;
      break;
    }
    const from = previous;
    const delay = delayMs(rng);
    const reached = reach(i, (attempt) => from + delay * 2 ** attempt);
    if (reached !== true) {
      stopped[i]!.conflicts++;
      for (const stage of reached) stopped[i]!.alsoProved.add(stage);
      break;
    }
    previous = history.reached.get(ids[i]!)!;
  }
  return record(history, persona, until, stageWithRole(funnel, 'first_call'), rng);
}

/** The drafted history as the developer's events, in time order, with the truth of the stages it was made to reach. */
function record(history: DraftHistory, persona: Persona, until: number, firstCallStage: string | undefined, rng: Rng): SimulatedDeveloper {
  const line = new Timeline(persona.profile.id, until, firstCallStage);
  line.truth.emailHabit = persona.emailHabit;
  const sdk = rng.chance(persona.behaviour.sdk);
  for (const { type, at, properties } of [...history.events].sort((a, b) => a.at - b.at)) {
    if (type !== 'api.request') {
      line.emit(type, at, properties);
      continue;
    }
    const { endpoint, status, method, mode } = properties as { endpoint: string; status: number; method: string; mode: 'test' | 'live' };
    const agent = sdk && !rng.chance(0.1) ? { userAgent: rng.pick(SDK_USER_AGENTS), sdk: true } : { userAgent: rng.pick(RAW_USER_AGENTS), sdk: false };
    line.request(at, { endpoint, status, method, mode, ...agent });
  }
  for (const [stage, at] of history.reached) line.prove(stage, at);
  return { profile: persona.profile, events: line.finish(), truth: line.truth };
}
