import { configFormat, type ConfigFileResult, type NamedConfigFileError } from './config-file.ts';
import { rulesDocument, type RulesDocument } from './rules-schema.ts';

/**
 * A rules file (YAML) → a validated `RulesDocument`, or every error in it, each naming the field
 * (`rules[2].when.after`), the rule it belongs to (its id) and the line. A file with any error is
 * rejected whole: nothing of it is used.
 */
export const rulesFormat = configFormat({
  label: 'rules',
  title: 'Onramp nudge rules',
  schema: rulesDocument,
  namedLists: { rule: ['rules'] },
  emptyFileMessage: 'the file is empty: it needs at least a `rules:` list',
});

/** A field error; `rule` is the id of the rule the field belongs to, when inside `rules[i]` and that rule has one. */
export type RulesFileError = NamedConfigFileError<'rule'>;

export type RulesFileResult = ConfigFileResult<RulesDocument, RulesFileError>;

/** Parses and validates rules YAML. */
export const parseRulesSource = (source: string): RulesFileResult => rulesFormat.parse(source);

/** Reads and validates a rules file; an unreadable file is one error with an empty path. */
export const readRulesFile = (file: string): RulesFileResult & { source?: string } => rulesFormat.read(file);

/** One line per error: `rules[2] (first-call-help) when.after: must be … (line 20)`. */
export const formatRulesError = (error: RulesFileError): string => rulesFormat.formatError(error);
