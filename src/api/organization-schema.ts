import { z } from 'zod';
import { journeyResponse, stageView } from './journey-schema.ts';

const instant = z.string().describe('ISO-8601 UTC');

/** GET /v1/organizations/:orgId: the organisation's standing, built from its members' journeys. */
export const organizationResponse = z.object({
  orgId: z.string(),
  funnelVersion: z.int().describe('the funnel version in force, whose stages these are'),
  signedUpAt: instant.nullable().describe("its first member's signup"),
  stage: journeyResponse.shape.stage.describe('the furthest stage any member reached'),
  stageAt: instant.nullable().describe('when its first member reached that stage'),
  stages: z.array(
    stageView.extend({
      at: instant.optional().describe('when its first member reached the stage (event time)'),
      reachedBy: z.string().optional().describe('the member who reached the stage first'),
    }),
  ),
  members: z
    .array(
      journeyResponse.pick({ developerId: true, stage: true, stageAt: true }).extend({
        stageLabel: z.string().nullable().describe("the stage's label in the funnel (its id humanised when it has none)"),
        signedUpAt: instant.nullable(),
        accountType: z.string().nullable(),
        acquisitionChannel: z.string().nullable(),
      }),
    )
    .describe("each member's journey in short (GET /v1/developers/:id/journey has the rest), first signup first"),
});

export type OrganizationReadModel = z.infer<typeof organizationResponse>;
