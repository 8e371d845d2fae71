import type { Client } from '@temporalio/client';
import type pg from 'pg';
import { describeSuppression, readEmailSuppression } from '../events/email-suppression.ts';
import type { Developer, JourneyStage, PrismaClient } from '../generated/prisma/client.ts';
import { stageIds, stageLabel, type FunnelVersion } from '../funnel/funnel-in-force.ts';
import { stageViews, type EvidenceByStage } from '../journey/evidence.ts';
import type { JourneyReadModel } from './journey-schema.ts';
import { readDeveloperHandoffs } from './read-handoffs.ts';
import { readMessages } from './read-messages.ts';
import { isJourneyRunning } from '../temporal/journey-client.ts';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/**
 * Where a developer stands under the funnel version in force: the read model's stage (when that
 * funnel holds it) and each of its stages, reached (by its stage row), skipped or pending.
 */
export function journeyStanding(
  funnel: FunnelVersion,
  developer: Pick<Developer, 'stage' | 'stageAt'>,
  stageRows: readonly Pick<JourneyStage, 'stage' | 'reachedAt' | 'causeEventId' | 'late'>[],
): Pick<JourneyReadModel, 'stage' | 'stageAt' | 'stages'> {
  const evidence: EvidenceByStage = {};
  for (const s of stageRows) evidence[s.stage] = { occurredAt: s.reachedAt.toISOString(), eventId: s.causeEventId, ...(s.late ? { late: true } : {}) };
  const ids = stageIds(funnel.document);
  const stage = developer.stage !== null && ids.includes(developer.stage) ? developer.stage : null;
  return {
    stage,
    stageAt: stage === null ? null : iso(developer.stageAt),
    stages: stageViews(evidence, ids).map((view) => ({ ...view, label: stageLabel(funnel.document, view.stage) })),
  };
}

/**
 * One developer's journey from the PostgreSQL read model (always available), with `running` from
 * Temporal: the stages (with their labels) and transitions recorded under `funnel`, the version the
 * journey follows (followed-funnel.ts). Undefined when the developer is unknown.
 */
export async function readJourney(
  { prisma, pool }: { prisma: PrismaClient; pool: pg.Pool },
  temporal: Client,
  funnel: FunnelVersion,
  developerId: string,
): Promise<JourneyReadModel | undefined> {
  const developer = await prisma.developer.findUnique({ where: { id: developerId } });
  if (!developer) return undefined;
  const [stages, transitions, stats, pendingSignals, running, messages, handoffs, suppression] = await Promise.all([
    prisma.journeyStage.findMany({ where: { developerId, funnelVersion: funnel.version } }),
    prisma.journeyTransition.findMany({ where: { developerId, funnelVersion: funnel.version }, orderBy: [{ recordedAt: 'asc' }, { id: 'asc' }] }),
    prisma.developerEndpoint.aggregate({
      where: { developerId },
      _count: { endpoint: true },
      _sum: { requests: true, okRequests: true, status400: true, status401: true, status429: true, status5xx: true, sdkRequests: true },
      _min: { firstAt: true },
      _max: { lastAt: true },
    }),
    prisma.outboxSignal.count({ where: { developerId } }),
    isJourneyRunning(temporal, developerId),
    readMessages(prisma, developerId),
    readDeveloperHandoffs(prisma, developerId),
    readEmailSuppression(pool, developerId),
  ]);
  return {
    developerId,
    funnelVersion: funnel.version,
    ...journeyStanding(funnel, developer, stages),
    transitions: transitions.map((t) => ({
      from: t.fromStage,
      to: t.toStage,
      occurredAt: t.occurredAt.toISOString(),
      recordedAt: t.recordedAt.toISOString(),
      causeEventId: t.causeEventId,
      machineVersion: t.machineVersion,
    })),
    running: running ?? false,
    ...(running === undefined ? { warnings: ['Temporal is unreachable: whether the journey runs is unknown; stages are from the read model'] } : {}),
    profile: {
      accountType: developer.accountType,
      orgId: developer.orgId,
      acquisitionChannel: developer.acquisitionChannel,
      timezone: developer.timezone,
      signedUpAt: iso(developer.signedUpAt),
    },
    requests: {
      total: stats._sum.requests ?? 0,
      ok: stats._sum.okRequests ?? 0,
      status400: stats._sum.status400 ?? 0,
      status401: stats._sum.status401 ?? 0,
      status429: stats._sum.status429 ?? 0,
      status5xx: stats._sum.status5xx ?? 0,
      sdk: stats._sum.sdkRequests ?? 0,
      raw: (stats._sum.requests ?? 0) - (stats._sum.sdkRequests ?? 0),
      distinctEndpoints: stats._count.endpoint,
      firstAt: iso(stats._min.firstAt),
      lastAt: iso(stats._max.lastAt),
    },
    emailSuppression: suppression ? { ...suppression, summary: describeSuppression(suppression) } : null,
    pendingSignals,
    messages,
    handoffs,
  };
}
