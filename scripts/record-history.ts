/**
 * Records a journey's workflow history for the replay test (test/workflow/replay.test.ts): runs the
 * workflow code at WORKFLOWS (default: this checkout's) under the time-skipping server through a
 * scripted developer, and writes the history as protobuf to OUT. Run it for every released
 * machine/workflow version before changing the workflow (docs/concepts/versioning.md):
 *   WORKFLOWS=/path/to/old/checkout/workflows/index.ts OUT=test/fixtures/histories/<name>.binpb npx tsx scripts/record-history.ts
 * WITH_RULES=1 feeds the shipped rules (nudges); WITH_HANDOFF=1 also the shipped escalation policy
 * and a support ticket that an agent claims, notes and returns (machine version 3 on).
 * WITH_FAILURES=1 makes every email send and Slack call fail for good, so the history holds the
 * journey's give-up paths (the `/failed` decision, the `slack_failed` step). WITH_BOUNCE=1 signals
 * a hard bounce an hour in, before the first nudge falls due (heard from machine version 5 on).
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import proto from '@temporalio/proto';
import { ApplicationFailure } from '@temporalio/activity';
const { temporal } = proto;
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { createTimeSkippingEnv } from '../test/support/time-skipping-env.ts';
import { WORKFLOWS_PATH } from '../src/assembly/workflow-bundle.ts';

const workflowsPath = resolve(process.env.WORKFLOWS ?? WORKFLOWS_PATH);
const out = resolve(process.env.OUT ?? 'history.binpb');
const env = await createTimeSkippingEnv();
const failing = process.env.WITH_FAILURES !== undefined;
const silent = { log() {}, info() {}, warn() {}, error() {}, debug() {}, trace() {} };
const rules = process.env.WITH_RULES || process.env.WITH_HANDOFF ? (await import('../src/rules/rules-file.ts')).readRulesFile(resolve('config/rules.yaml')) : undefined;
const policy = process.env.WITH_HANDOFF ? (await import('../src/rules/escalation-policy-file.ts')).escalationPolicyFormat.read(resolve('config/escalation.yaml')) : undefined;
const worker = await Worker.create({
  connection: env.nativeConnection,
  taskQueue: 'record',
  workflowBundle: await bundleWorkflowCode({ workflowsPath, logger: silent }),
  activities: {
    async recordJourneyEffects() {},
    async currentNudgeRules() {
      return rules?.ok ? { version: 1, document: rules.document } : null;
    },
    async recordNudgeDecisions() {},
    async sendNudge() {
      if (failing) throw ApplicationFailure.create({ type: 'NudgeNotSendable', message: 'no template', nonRetryable: true });
    },
    async currentJourneyPolicies() {
      return { rules: rules?.ok ? { version: 1, document: rules.document } : null, policy: policy?.ok ? { version: 1, document: policy.document } : null };
    },
    async recordHandoffSteps() {},
    async notifySlack() {
      if (failing) throw ApplicationFailure.create({ message: 'slack is down', nonRetryable: true });
    },
  },
});
const running = worker.run();
const now = await env.currentTimeMs();
const iso = (h: number) => new Date(now + h * 3_600_000).toISOString();
const id = 'replay_dev';
// What ingest sends for the shipped funnel (version 1): the events a journey decides on, and a
// stage.proved per stage (code from before journey version 4 hears the events as its evidence and
// ignores the proofs).
const shipped = {
  version: 1,
  stages: ['intent', 'account_created', 'credential_provisioned', 'first_api_call', 'first_integration_milestone', 'active_integration', 'production_deployment'],
};
const proved = (causeEventId: string, stage: string, occurredAt: string) => ({
  id: `${causeEventId}#${stage}`,
  type: 'stage.proved',
  stage,
  occurredAt,
  causeEventId,
  funnel: shipped,
});
const handle = await env.client.workflow.signalWithStart('onboardingJourney', {
  workflowId: `onboarding/${id}`,
  taskQueue: 'record',
  args: [{ developerId: id }],
  signal: 'journey.events',
  signalArgs: [
    [
      { id: 'e1', type: 'docs.viewed', occurredAt: iso(0) },
      { id: 'e2', type: 'developer.signed_up', occurredAt: iso(0), properties: { accountType: 'individual', acquisitionChannel: 'organic_search', timezone: 'UTC' } },
      { id: 'e3', type: 'api_key.created', occurredAt: iso(0), properties: { mode: 'test' } },
      proved('e1', 'intent', iso(0)),
      proved('e2', 'account_created', iso(0)),
      proved('e3', 'credential_provisioned', iso(0)),
    ],
  ],
});
if (process.env.WITH_BOUNCE) {
  await handle.signal('journey.events', [{ id: 'ses:b1:0', type: 'email.bounced', occurredAt: iso(1), properties: { bounceType: 'hard' } }]);
}
if (policy) {
  await handle.signal('journey.events', [{ id: 't1', type: 'support.ticket_created', occurredAt: iso(1) }]);
  await env.sleep('2 hours');
  const act = (input: Record<string, unknown>) => handle.executeUpdate('handoff.action', { args: [{ caseId: `${id}/h1`, actor: 'U0AGENT', ...input }] });
  await act({ action: 'claim' });
  await act({ action: 'note', note: 'asked for their curl command' });
  await env.sleep('1 hour');
  await act({ action: 'return' });
}
await env.sleep('30 hours');
await handle.signal('journey.events', [proved('r1', 'first_api_call', iso(30))]);
await env.sleep('1 hour');
await handle.signal('journey.events', [proved('r2', 'production_deployment', iso(31))]);
await env.sleep('1 hour');
const history = await handle.fetchHistory();
writeFileSync(out, temporal.api.history.v1.History.encode(history).finish());
console.log(`${out}: ${history.events?.length} events`);
worker.shutdown();
await running;
await env.teardown();
