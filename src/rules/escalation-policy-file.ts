import { configFormat, type NamedConfigFileError } from './config-file.ts';
import { escalationPolicyDocument } from './escalation-policy-schema.ts';

/**
 * An escalation policy file (YAML, config/escalation.yaml) → a validated
 * `EscalationPolicyDocument`, or every error in it, each naming the field
 * (`criteria.stalls[1].after`), the stall it belongs to (its id) and the line.
 */
export const escalationPolicyFormat = configFormat({
  label: 'escalation policy',
  title: 'Onramp escalation policy',
  schema: escalationPolicyDocument,
  namedLists: { stall: ['criteria', 'stalls'] },
  emptyFileMessage: 'the file is empty: write `{}` for every default',
});

/** A field error; `stall` is the id of the stall criterion the field belongs to, when it has one. */
export type EscalationPolicyFileError = NamedConfigFileError<'stall'>;
