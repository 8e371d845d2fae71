import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { PrismaClient } from '../generated/prisma/client.ts';
import { stageViews, type EvidenceByStage } from '../journey/evidence.ts';
import type { JourneyReadModel } from './journey-schema.ts';
import { isStage, type Stage } from '../journey/stages.ts';
import { journeyWorkflowId } from '../../workflows/journey-messages.ts';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/**
 * One developer's journey from the PostgreSQL read model (always available), with `running` from
 * Temporal. Undefined when the developer is unknown.
 */
export async function readJourney(prisma: PrismaClient, temporal: Client, developerId: string): Promise<JourneyReadModel | undefined> {
  const developer = await prisma.developer.findUnique({ where: { id: developerId } });
  if (!developer) return undefined;
  const [stages, transitions, stats, endpoints, pendingSignals, running] = await Promise.all([
    prisma.journeyStage.findMany({ where: { developerId } }),
    prisma.journeyTransition.findMany({ where: { developerId }, orderBy: [{ recordedAt: 'asc' }, { id: 'asc' }] }),
    prisma.developerRequestStats.findUnique({ where: { developerId } }),
    prisma.developerEndpoint.count({ where: { developerId } }),
    prisma.outboxSignal.count({ where: { developerId } }),
    isRunning(temporal, developerId),
  ]);
  const evidence: EvidenceByStage = {};
  for (const s of stages) {
    if (isStage(s.stage)) evidence[s.stage] = { occurredAt: s.reachedAt.toISOString(), eventId: s.causeEventId, ...(s.late ? { late: true } : {}) };
  }
  return {
    developerId,
    stage: developer.stage !== null && isStage(developer.stage) ? developer.stage : null,
    stageAt: iso(developer.stageAt),
    stages: stageViews(evidence),
    transitions: transitions.map((t) => ({
      from: t.fromStage !== null && isStage(t.fromStage) ? t.fromStage : null,
      to: t.toStage as Stage,
      occurredAt: t.occurredAt.toISOString(),
      recordedAt: t.recordedAt.toISOString(),
      causeEventId: t.causeEventId,
      machineVersion: t.machineVersion,
    })),
    running,
    profile: {
      accountType: developer.accountType,
      orgId: developer.orgId,
      acquisitionChannel: developer.acquisitionChannel,
      timezone: developer.timezone,
      signedUpAt: iso(developer.signedUpAt),
    },
    requests: {
      total: stats?.requests ?? 0,
      ok: stats?.okRequests ?? 0,
      status400: stats?.status400 ?? 0,
      status401: stats?.status401 ?? 0,
      status429: stats?.status429 ?? 0,
      status5xx: stats?.status5xx ?? 0,
      sdk: stats?.sdkRequests ?? 0,
      raw: stats?.rawRequests ?? 0,
      distinctEndpoints: endpoints,
      firstAt: iso(stats?.firstRequestAt ?? null),
      lastAt: iso(stats?.lastRequestAt ?? null),
    },
    pendingSignals,
  };
}

async function isRunning(temporal: Client, developerId: string): Promise<boolean> {
  try {
    const description = await temporal.workflow.getHandle(journeyWorkflowId(developerId)).describe();
    return description.status.name === 'RUNNING';
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return false;
    throw error;
  }
}
