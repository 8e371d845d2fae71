/**
 * The journey's versions, declared once. A version that changed the commands the workflow issues
 * gates its code with a `patched()` id, so that a journey whose history predates it replays
 * without it; ids recorded in histories are never renamed. The workflow asks `patched(patchOf(n))`
 * for version n; the machine records the version a journey started with (context.machineVersion,
 * and each transition row). docs/concepts/versioning.md tells how to add a version and retire a
 * patch.
 */
export const JOURNEY_VERSIONS = [
  { version: 1, patch: null, added: 'the funnel: stages from the earliest evidence, a row per stage and transition' },
  { version: 2, patch: 'onramp-nudges', added: 'nudges: decisions, sends and the wake-up timer, from the rules in force' },
  { version: 3, patch: 'onramp-handoff', added: 'handoff to a person: the escalation policy, agent actions, Slack' },
  { version: 4, patch: 'onramp-funnel-document', added: 'the funnel as data: stages from the `stage.proved` evidence of the funnel version in force' },
  {
    version: 5,
    patch: 'onramp-email-delivery',
    added: 'email that does not reach them: a hard bounce or a spam complaint makes the engagement segment `none` (a due nudge is skipped and escalates)',
  },
  {
    version: 6,
    patch: 'onramp-search-attributes',
    added: 'what the Temporal UI shows: search attributes (stage, escalated, open case, channel, account type) and a memo, upserted as they change',
  },
] as const;

export type JourneyVersion = (typeof JOURNEY_VERSIONS)[number];

/** The versions that added code behind a patch. */
export type PatchedVersion = Extract<JourneyVersion, { patch: string }>['version'];

/** The version new journeys start with: the last one declared. */
export const MACHINE_VERSION: JourneyVersion['version'] = JOURNEY_VERSIONS[JOURNEY_VERSIONS.length - 1]!.version;

/** The `patched()` id that gates what `version` added. */
export function patchOf(version: PatchedVersion): string {
  return JOURNEY_VERSIONS.find((v) => v.version === version)!.patch!;
}
