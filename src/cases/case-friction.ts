import type { PrismaClient } from '../generated/prisma/client.ts';

/**
 * The friction an agent records when resolving a case lives beside the case's read model
 * (`handoffs.friction`), written at the edge once the journey has taken the resolve: the journey
 * and its Temporal history never see it, so recording it needs no workflow change. A case is
 * resolved once; the first friction stays (a retried request writes the same, harmlessly).
 */
export async function recordFriction(prisma: PrismaClient, caseId: string, friction: string): Promise<void> {
  await prisma.$executeRaw`UPDATE handoffs SET friction = ${friction} WHERE id = ${caseId} AND friction IS NULL`;
}
