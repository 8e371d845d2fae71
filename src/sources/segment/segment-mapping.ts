import { z } from 'zod';
import { isBuiltInEventType } from '../../events/event-schemas.ts';
import { EVENT_TYPE_MESSAGE, EVENT_TYPE_PATTERN, MAX_EVENT_TYPE_LENGTH } from '../../events/event-type.ts';
import { configFormat } from '../../rules/config-file.ts';
import { packagePath } from '../../package-root.ts';

/**
 * Which Segment calls are which Onramp events (config/segment.yaml, ONRAMP_SEGMENT_MAPPING): named
 * track events, what the others become, the page event, the identify traits of the profile.
 * Property and trait names are Onramp's name → the Segment property (a dotted path for nested
 * ones: `company.id`).
 */

const eventType = z.string().max(MAX_EVENT_TYPE_LENGTH).regex(EVENT_TYPE_PATTERN, EVENT_TYPE_MESSAGE);
const segmentField = z.string().min(1).max(200).describe('a Segment property or trait, dotted for nested ones (company.id)');
const trait = (name: string) => segmentField.default(name);

const segmentMappingDocument = z.strictObject({
  track: z
    .record(
      z.string().min(1).max(200).describe('the track event name, e.g. "API Key Created"'),
      z.strictObject({
        type: eventType.describe('the Onramp event type, built-in or custom'),
        properties: z.record(z.string().min(1).max(200), segmentField).default({}).describe('Onramp property → Segment property'),
      }),
    )
    .default({}),
  unmapped: z
    .enum(['custom', 'refuse'])
    .default('custom')
    .describe('a track event not named in `track`: custom, its name as a type ("Team Invited" → team.invited); refuse, a 400'),
  page: eventType.default('docs.viewed').describe('what a page call is'),
  identify: z
    .strictObject({
      traits: z
        .strictObject({
          email: trait('email'),
          accountType: trait('accountType'),
          orgId: trait('company.id'),
          acquisitionChannel: trait('acquisitionChannel'),
          timezone: trait('timezone'),
          name: trait('name'),
          locale: trait('locale'),
        })
        .default({
          email: 'email',
          accountType: 'accountType',
          orgId: 'company.id',
          acquisitionChannel: 'acquisitionChannel',
          timezone: 'timezone',
          name: 'name',
          locale: 'locale',
        }),
      otherwise: eventType
        .refine((type) => !isBuiltInEventType(type), 'must be a custom type: a built-in one has its own schema')
        .default('developer.identified')
        .describe('the custom type an identify is stored as when it is not the developer’s signup'),
    })
    .default({
      traits: { email: 'email', accountType: 'accountType', orgId: 'company.id', acquisitionChannel: 'acquisitionChannel', timezone: 'timezone', name: 'name', locale: 'locale' },
      otherwise: 'developer.identified',
    }),
});

export type SegmentMapping = z.output<typeof segmentMappingDocument>;

export const segmentMappingFormat = configFormat({
  label: 'Segment mapping',
  title: 'Onramp Segment mapping',
  schema: segmentMappingDocument,
  namedLists: {},
  emptyFileMessage: 'the file is empty: write `{}` for every default',
});

export const SHIPPED_SEGMENT_MAPPING_FILE = packagePath('config', 'segment.yaml');

/** The mapping in a file, or an error naming every problem with its field and line (start-up stops on it). */
export function readSegmentMapping(file: string = SHIPPED_SEGMENT_MAPPING_FILE): SegmentMapping {
  const read = segmentMappingFormat.read(file);
  if (!read.ok) throw new Error(`${file} is not a valid Segment mapping:\n${read.errors.map((error) => `  ${segmentMappingFormat.formatError(error)}`).join('\n')}`);
  return read.document;
}
