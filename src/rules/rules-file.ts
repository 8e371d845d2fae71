import { readFileSync } from 'node:fs';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node, type Pair } from 'yaml';
import type { z } from 'zod';
import { rulesDocument, type RulesDocument } from './rules-schema.ts';

/**
 * A rules file (YAML) → a validated `RulesDocument`, or every error in it, each naming the field
 * (`rules[2].when.after`), the rule it belongs to (its id) and the line. A file with any error is
 * rejected whole: nothing of it is used.
 */

export interface RulesFileError {
  /** The field, e.g. `rules[2].when.after`; empty for the file as a whole. */
  path: string;
  /** The id of the rule the field belongs to, when inside `rules[i]` and that rule has one. */
  rule?: string;
  message: string;
  /** 1-based position in the YAML source, when known. */
  line?: number;
  column?: number;
}

export type RulesFileResult = { ok: true; document: RulesDocument } | { ok: false; errors: RulesFileError[] };

type Path = readonly PropertyKey[];

/** Parses and validates rules YAML. */
export function parseRulesSource(source: string): RulesFileResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(source, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      errors: doc.errors.map((error) => {
        const { line, col } = lineCounter.linePos(error.pos[0]);
        return { path: '', message: `YAML syntax: ${error.message}`, line, column: col };
      }),
    };
  }
  const data: unknown = doc.toJS();
  if (data === null || data === undefined) return { ok: false, errors: [{ path: '', message: 'the file is empty: it needs at least a `rules:` list' }] };
  const parsed = rulesDocument.safeParse(data, { error: readableMessage });
  if (parsed.success) return { ok: true, document: parsed.data };

  const errors = parsed.error.issues.flatMap((issue) => flatten(issue, []));
  errors.push(...duplicateIds(data, errors));
  const seen = new Set<string>();
  return {
    ok: false,
    errors: errors
      .filter(({ path, message }) => {
        const key = `${String(path.join('\u0000'))}\u0001${message}`;
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
      })
      .map(({ path, message, keyOnly }) => {
        const error: RulesFileError = { path: formatPath(path), message };
        const rule = ruleId(data, path);
        if (rule !== undefined) error.rule = rule;
        const position = positionOf(doc, lineCounter, path, keyOnly);
        if (position) Object.assign(error, position);
        return error;
      })
      .sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity) || (a.column ?? 0) - (b.column ?? 0)),
  };
}

/** Reads and validates a rules file; an unreadable file is one error with an empty path. */
export function readRulesFile(file: string): RulesFileResult & { source?: string } {
  let source: string;
  try {
    source = readFileSync(file, 'utf8');
  } catch (error) {
    return { ok: false, errors: [{ path: '', message: `cannot read ${file}: ${(error as Error).message}` }] };
  }
  return { ...parseRulesSource(source), source };
}

/** One line per error: `rules[2] (first-call-help) when.after: must be … (line 20)`. */
export function formatRulesError(error: RulesFileError): string {
  const at = error.line === undefined ? '' : ` (line ${error.line}${error.column === undefined ? '' : `, column ${error.column}`})`;
  const rulePrefix = /^rules\[\d+\]/.exec(error.path)?.[0];
  if (rulePrefix) {
    const rest = error.path.slice(rulePrefix.length).replace(/^\./, '');
    const named = error.rule === undefined ? rulePrefix : `${rulePrefix} (${error.rule})`;
    return `${named}${rest ? ` ${rest}` : ''}: ${error.message}${at}`;
  }
  return `${error.path || 'file'}: ${error.message}${at}`;
}

/** `['rules', 2, 'when', 'after']` → `rules[2].when.after`. */
export function formatPath(path: Path): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(String(segment))) out += `${out ? '.' : ''}${String(segment)}`;
    else out += `[${JSON.stringify(String(segment))}]`;
  }
  return out;
}

interface FlatError {
  path: Path;
  message: string;
  /** Point at the key rather than its value (an unknown field). */
  keyOnly?: boolean;
}

/**
 * One zod issue → field errors. An unknown key becomes an error at that key; a union (a rule's
 * `when` or `action`) reports the alternative the author evidently meant: the one whose fields
 * they used, then the one with the fewest problems.
 */
function flatten(issue: z.core.$ZodIssue, prefix: Path): FlatError[] {
  const path = [...prefix, ...issue.path];
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({ path: [...path, key], message: `unknown field "${key}"`, keyOnly: true }));
  }
  if (issue.code === 'invalid_union' && issue.errors.length > 0) {
    const scored = issue.errors.map((branch, order) => ({
      branch,
      order,
      unknown: branch.filter((i) => i.code === 'unrecognized_keys').reduce((n, i) => n + (i.code === 'unrecognized_keys' ? i.keys.length : 0), 0),
    }));
    scored.sort((a, b) => a.unknown - b.unknown || a.branch.length - b.branch.length || a.order - b.order);
    return scored[0]!.branch.flatMap((inner) => flatten(inner, path));
  }
  return [{ path, message: issue.message }];
}

const ARTICLE: Record<string, string> = { object: 'an object', array: 'an array', int: 'an integer', integer: 'an integer' };

/** Messages for the issues the schema leaves to zod's defaults, phrased as `must …`. */
function readableMessage(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type': {
      if (issue.input === undefined) return 'is required';
      const got = issue.input === null ? 'null' : Array.isArray(issue.input) ? 'a list' : typeof issue.input;
      return `must be ${ARTICLE[issue.expected] ?? `a ${issue.expected}`} (got ${got})`;
    }
    case 'invalid_value':
      return issue.values.length === 1 ? `must be ${JSON.stringify(issue.values[0])}` : `must be one of ${issue.values.map((v) => String(v)).join(', ')}`;
    case 'too_small':
      if (issue.origin === 'array' || issue.origin === 'set') return `must have at least ${String(issue.minimum)} item${Number(issue.minimum) === 1 ? '' : 's'}`;
      if (issue.origin === 'string') return Number(issue.minimum) === 1 ? 'must not be empty' : `must be at least ${String(issue.minimum)} characters`;
      return issue.inclusive === false ? `must be greater than ${String(issue.minimum)}` : `must be at least ${String(issue.minimum)}`;
    case 'too_big':
      if (issue.origin === 'array' || issue.origin === 'set') return `must have at most ${String(issue.maximum)} items`;
      if (issue.origin === 'string') return `must be at most ${String(issue.maximum)} characters`;
      return issue.inclusive === false ? `must be less than ${String(issue.maximum)}` : `must be at most ${String(issue.maximum)}`;
    default:
      return undefined;
  }
}

/**
 * Duplicate ids, from the raw data: the schema checks them only once every rule is otherwise
 * valid, and an author should see all problems in one pass.
 */
function duplicateIds(data: unknown, already: FlatError[]): FlatError[] {
  const rules = (data as { rules?: unknown } | null | undefined)?.rules;
  if (!Array.isArray(rules)) return [];
  const seen = new Set<string>();
  const found: FlatError[] = [];
  rules.forEach((rule, index) => {
    const id = (rule as { id?: unknown } | null)?.id;
    if (typeof id !== 'string') return;
    if (seen.has(id)) found.push({ path: ['rules', index, 'id'], message: `duplicate rule id "${id}"` });
    seen.add(id);
  });
  return found.filter((d) => !already.some((e) => e.message === d.message && formatPath(e.path) === formatPath(d.path)));
}

function ruleId(data: unknown, path: Path): string | undefined {
  if (path[0] !== 'rules' || typeof path[1] !== 'number') return undefined;
  const rules = (data as { rules?: unknown } | null | undefined)?.rules;
  const id = Array.isArray(rules) ? (rules[path[1]] as { id?: unknown } | null | undefined)?.id : undefined;
  return typeof id === 'string' && id !== '' ? id : undefined;
}

/** Where in the YAML a path points: the deepest node that exists along it. */
function positionOf(doc: Document, lineCounter: LineCounter, path: Path, keyOnly = false): { line: number; column: number } | undefined {
  let node: Node | null | undefined = doc.contents as Node | null;
  let found = node;
  for (const [i, segment] of path.entries()) {
    if (isMap(node)) {
      const pair: Pair<unknown, unknown> | undefined = node.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === segment);
      if (!pair) break;
      if (keyOnly && i === path.length - 1 && isScalar(pair.key)) node = pair.key;
      else node = pair.value as Node | null;
    } else if (isSeq(node) && typeof segment === 'number') {
      node = node.items[segment] as Node | undefined;
    } else {
      break;
    }
    if (!node) break;
    found = node;
  }
  const offset = found?.range?.[0];
  if (offset === undefined) return undefined;
  const { line, col } = lineCounter.linePos(offset);
  return { line, column: col };
}
