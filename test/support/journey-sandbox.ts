import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { parse, stringify } from 'yaml';
import type { HandoffActivityDeps } from '../../src/activities/handoff-activities.ts';
import type { NudgeActivityDeps } from '../../src/activities/nudge-activities.ts';
import type { Database } from '../../src/db/database.ts';
import type { JourneyEvent } from '../../src/journey/journey-event.ts';
import { EscalationPolicyStore } from '../../src/rules/escalation-policy-store.ts';
import { RuleStore } from '../../src/rules/rule-store.ts';
import { assembleOnramp } from '../../src/assembly/assemble-onramp.ts';
import { journeyEventsSignal, journeyWorkflowId } from '../../workflows/journey-messages.ts';
import { onboardingJourney } from '../../workflows/onboarding-journey.ts';
import { testHandoffDeps } from './handoff-deps.ts';
import { asIngestSends } from './ingest-signals.ts';
import { testNudgeDeps } from './nudge-deps.ts';
import { openMigratedDatabase } from './migrated-database.ts';
import type { DatabaseBackend } from './test-databases.ts';
import { createTimeSkippingEnv } from './time-skipping-env.ts';
import { journeyWorkflowBundle } from './workflow-bundle.ts';

/**
 * The real journey workflow and production worker under the time-skipping test server, on a
 * fresh database of the given backend: the setup the workflow-level and chaos tests share (each
 * suite once per backend of `databaseBackends()`).
 */

export const SHIPPED_RULES = readFileSync(fileURLToPath(new URL('../../config/rules.yaml', import.meta.url)), 'utf8');
export const SHIPPED_POLICY = readFileSync(fileURLToPath(new URL('../../config/escalation.yaml', import.meta.url)), 'utf8');

/** The shipped rules with no holdout and no quiet hours (sends are immediate), edited further if asked. */
export function immediateRules(edit: (doc: any) => void = () => {}): string {
  const doc = parse(SHIPPED_RULES);
  doc.policy = { ...doc.policy, holdoutPercent: 0, quietHours: { start: '00:00', end: '00:00' } };
  edit(doc);
  return stringify(doc);
}

export interface JourneySandboxOptions {
  backend: DatabaseBackend;
  taskQueue: string;
  /** Rules stored as version 1 (YAML); none: journeys decide no nudges until a test stores some. */
  rules?: string;
  /** Escalation policy stored as version 1 (YAML); none: no handoff. */
  policy?: string;
  nudges?: Partial<NudgeActivityDeps>;
  handoffs?: Partial<HandoffActivityDeps>;
}

export interface JourneySandbox {
  env: TestWorkflowEnvironment;
  db: Database;
  /** Signal-with-start of a developer's journey with these events. */
  signal(developerId: string, events: JourneyEvent[]): Promise<void>;
  close(): Promise<void>;
}

export async function startJourneySandbox(options: JourneySandboxOptions): Promise<JourneySandbox> {
  const env = await createTimeSkippingEnv();
  const database = await openMigratedDatabase(options.backend);
  const { db } = database;
  for (const [store, source] of [
    [new RuleStore(db.pool), options.rules],
    [new EscalationPolicyStore(db.pool), options.policy],
  ] as const) {
    if (source === undefined) continue;
    const applied = await store.apply({ source, author: 'test', reason: options.taskQueue });
    if (!applied.ok) throw new Error(JSON.stringify(applied.errors));
  }
  const onramp = await assembleOnramp({
    db,
    worker: {
      connection: env.nativeConnection,
      namespace: 'default',
      taskQueue: options.taskQueue,
      nudges: testNudgeDeps(db.pool, options.nudges),
      handoffs: testHandoffDeps(db.pool, options.handoffs),
      rulesTtlMs: 0,
      workflowBundle: journeyWorkflowBundle(),
    },
  });
  return {
    env,
    db,
    signal: async (developerId, events) => {
      await env.client.workflow.signalWithStart(onboardingJourney, {
        workflowId: journeyWorkflowId(developerId),
        taskQueue: options.taskQueue,
        args: [{ developerId }],
        signal: journeyEventsSignal,
        signalArgs: [asIngestSends(events)],
      });
    },
    async close() {
      await onramp.stop();
      await env.teardown();
      await database.close();
    },
  };
}
