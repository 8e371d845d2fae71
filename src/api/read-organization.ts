import type { PrismaClient } from '../generated/prisma/client.ts';
import { stageIds, stageLabel, type FunnelVersion } from '../funnel/funnel-in-force.ts';
import { currentStage, stageViews, type Evidence, type EvidenceByStage } from '../journey/evidence.ts';
import { isEarlier } from '../journey/evidence-order.ts';
import type { OrganizationReadModel } from './organization-schema.ts';
import { journeyStanding } from './read-journey.ts';

/**
 * An organisation from its members' journeys (`journeyStanding`, as the journey API shows them)
 * under the funnel version in force: it reaches a stage when its first member does, by event time,
 * and stands at the furthest stage any member reached. Undefined when no developer names the org.
 */
export async function readOrganization(prisma: PrismaClient, funnel: FunnelVersion, orgId: string): Promise<OrganizationReadModel | undefined> {
  const developers = await prisma.developer.findMany({ where: { orgId }, orderBy: [{ signedUpAt: { sort: 'asc', nulls: 'last' } }, { id: 'asc' }] });
  if (developers.length === 0) return undefined;
  const rows = await prisma.journeyStage.findMany({ where: { developerId: { in: developers.map((d) => d.id) }, funnelVersion: funnel.version } });
  const rowsOf = new Map<string, typeof rows>();
  for (const row of rows) {
    const own = rowsOf.get(row.developerId);
    if (own) own.push(row);
    else rowsOf.set(row.developerId, [row]);
  }
  const members = developers.map((developer) => ({ developer, standing: journeyStanding(funnel, developer, rowsOf.get(developer.id) ?? []) }));

  const first: EvidenceByStage = {};
  const reachedBy = new Map<string, string>();
  for (const { developer, standing } of members) {
    for (const view of standing.stages) {
      if (view.status !== 'reached') continue;
      const proof: Evidence = { occurredAt: view.at!, eventId: view.causeEventId! };
      if (!isEarlier(proof, first[view.stage])) continue;
      first[view.stage] = proof;
      reachedBy.set(view.stage, developer.id);
    }
  }
  const ids = stageIds(funnel.document);
  const stage = currentStage(first, ids);
  return {
    orgId,
    funnelVersion: funnel.version,
    signedUpAt: developers[0]!.signedUpAt?.toISOString() ?? null,
    stage,
    stageAt: stage === null ? null : first[stage]!.occurredAt,
    stages: stageViews(first, ids).map((view) => ({
      ...view,
      label: stageLabel(funnel.document, view.stage),
      ...(reachedBy.has(view.stage) ? { reachedBy: reachedBy.get(view.stage)! } : {}),
    })),
    members: members.map(({ developer, standing }) => ({
      developerId: developer.id,
      stage: standing.stage,
      stageAt: standing.stageAt,
      stageLabel: standing.stage === null ? null : stageLabel(funnel.document, standing.stage),
      signedUpAt: developer.signedUpAt?.toISOString() ?? null,
      accountType: developer.accountType,
      acquisitionChannel: developer.acquisitionChannel,
    })),
  };
}
