import { configFormat, type ConfigFileResult, type DocumentIssue, type NamedConfigFileError } from './config-file.ts';
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

/** The templates folder as the rules' check sees it (src/mail/email-templates.ts). */
export interface TemplateFolder {
  names(): ReadonlySet<string>;
  /** What keeps these templates from being sent (an unknown variable, a missing part…), with file and line. */
  problems(names: Iterable<string>): { file: string; message: string; line?: number; column?: number }[];
}

/**
 * The rules format that also refuses a template the folder does not have, or cannot send (`send:`,
 * a variant's or an experiment's): otherwise the typo shows only when the email is due. The folder is read at
 * each parse (templates change without a restart).
 */
export function rulesFormatWithTemplates(templates: TemplateFolder) {
  return rulesFormat.checkedBy((document) => unsendableTemplates(document, templates));
}

/** Where the rules send a template the folder does not have or cannot send; also what refuses a templates version that would leave the rules in force so. */
export function unsendableTemplates(document: RulesDocument, templates: TemplateFolder): DocumentIssue[] {
  const names = templates.names();
  const known = [...names].sort().join(', ') || 'none';
  const missing = (path: DocumentIssue['path'], name: string): DocumentIssue[] => {
    if (!names.has(name)) return [{ path, message: `no template "${name}" (templates: ${known})` }];
    const problems = templates.problems([name]);
    if (problems.length === 0) return [];
    const where = (p: (typeof problems)[number]) => `${p.file}${p.line === undefined ? '' : `:${p.line}${p.column === undefined ? '' : `:${p.column}`}`}`;
    return [{ path, message: `template "${name}" cannot be sent: ${problems.map((p) => `${where(p)}: ${p.message}`).join('; ')}` }];
  };
  return document.rules.flatMap((rule, i) => {
    if ('experiment' in rule.action) {
      const { send, variants } = rule.action.experiment;
      const at = ['rules', i, 'action', 'experiment'];
      return [
        ...(send === undefined ? [] : missing([...at, 'send'], send)),
        ...variants.flatMap((v, j) => (v.send === undefined ? [] : missing([...at, 'variants', j, 'send'], v.send))),
      ];
    }
    if (!('send' in rule.action)) return [];
    const { send, variants = [] } = rule.action;
    return [...missing(['rules', i, 'action', 'send'], send), ...variants.flatMap((v, j) => missing(['rules', i, 'action', 'variants', j, 'send'], v.send))];
  });
}
