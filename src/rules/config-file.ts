import { readFileSync } from 'node:fs';
import { isMap, isScalar, isSeq, LineCounter, Parser, parseDocument, visit, type CST, type Document, type Node, type Pair } from 'yaml';
import type { z } from 'zod';

/**
 * A config file (YAML) checked against a zod schema: a validated document, or every error in it,
 * each naming the field (`rules[2].when.after`), the line, and for an item of a named list (a
 * rule, a stall) its id. A file with any error is rejected whole: nothing of it is used. The nudge
 * rules (rules-file.ts) and the escalation policy (escalation-policy-file.ts) are two formats.
 */

export interface ConfigFileError {
  /** The field, e.g. `rules[2].when.after`; empty for the file as a whole. */
  path: string;
  message: string;
  /** 1-based position in the YAML source, when known. */
  line?: number;
  column?: number;
}

/** An error that may also name the item it is inside: `{ rule: 'first-call-help' }`. */
export type NamedConfigFileError<Named extends string> = ConfigFileError & { [K in Named]?: string };

export type ConfigFileResult<D, E> = { ok: true; document: D } | { ok: false; errors: E[] };

export interface ConfigFormatSpec<S extends z.ZodType, Named extends string> {
  /** What the file holds, in messages, diff labels and version reasons: `rules`, `escalation policy`. */
  label: string;
  /** The JSON Schema's title. */
  title: string;
  schema: S;
  /**
   * Lists whose items have an `id` that errors inside them name, as the error's key → the list's
   * path: `{ rule: ['rules'] }`. A repeated id in such a list is an error too (`duplicate rule id`).
   */
  namedLists: Record<Named, readonly string[]>;
  /** The message for an empty file. */
  emptyFileMessage: string;
}

export interface ConfigFormat<S extends z.ZodType = z.ZodType, Named extends string = string> extends ConfigFormatSpec<S, Named> {
  /** Parses and validates YAML. */
  parse(source: string): ConfigFileResult<z.output<S>, NamedConfigFileError<Named>>;
  /** Reads and validates a file; an unreadable file is one error with an empty path. */
  read(file: string): ConfigFileResult<z.output<S>, NamedConfigFileError<Named>> & { source?: string };
  /** One line per error: `rules[2] (first-call-help) when.after: must be … (line 20, column 5)`. */
  formatError(error: NamedConfigFileError<Named>): string;
  /**
   * This format, plus a check of a schema-valid document against the world outside it (do the
   * templates it names exist?). Its findings are errors like the schema's, with item and line.
   */
  checkedBy(check: DocumentCheck<z.output<S>>): ConfigFormat<S, Named>;
  /**
   * Problems found in a valid source's document by a check that needs more than the document (the
   * funnel in force), as errors like the schema's: with the item they are in, the line and column.
   */
  locate(source: string, issues: readonly DocumentIssue[]): NamedConfigFileError<Named>[];
}

/** A problem a check finds in a valid document: the field (`['rules', 2, 'action', 'send']`) and what is wrong. */
export interface DocumentIssue {
  path: readonly (string | number)[];
  message: string;
}

export type DocumentCheck<D> = (document: D) => DocumentIssue[];

type Path = readonly PropertyKey[];

/** Deeper YAML is refused: no config needs it (a rules file is about 6 levels deep). */
export const MAX_YAML_DEPTH = 64;

/** The YAML library's guard against alias bombs: how many nodes one alias may expand to. */
const MAX_ALIAS_COUNT = 100;

/**
 * Where the first collection nested deeper than `limit` starts, from the concrete syntax tree
 * (built and walked without recursion, unlike the composer), or undefined.
 */
function deeperThan(source: string, limit: number): { line: number; col: number } | undefined {
  const lineCounter = new LineCounter();
  const stack: [CST.Token | null | undefined, number][] = [];
  for (const token of new Parser(lineCounter.addNewLine).parse(source)) stack.push([token, 0]);
  while (stack.length > 0) {
    const [token, depth] = stack.pop()!;
    if (!token) continue;
    if (token.type === 'document') stack.push([token.value, depth]);
    else if (token.type === 'block-map' || token.type === 'block-seq' || token.type === 'flow-collection') {
      if (depth + 1 > limit) return lineCounter.linePos(token.offset);
      for (const item of token.items) stack.push([item.key, depth + 1], [item.value, depth + 1]);
    }
  }
  return undefined;
}

function firstAliasOffset(doc: Document): number | undefined {
  let offset: number | undefined;
  visit(doc, {
    Alias(_, node) {
      offset = node.range?.[0];
      return visit.BREAK;
    },
  });
  return offset;
}

export function configFormat<S extends z.ZodType, Named extends string>(
  spec: ConfigFormatSpec<S, Named>,
  checks: readonly DocumentCheck<z.output<S>>[] = [],
): ConfigFormat<S, Named> {
  const lists = Object.entries(spec.namedLists) as [Named, readonly string[]][];
  type Error = NamedConfigFileError<Named>;

  function parse(source: string): ConfigFileResult<z.output<S>, Error> {
    // Before composing: the composer recurses per level, and a stack overflow inside it can leave
    // V8 unable to compile regular expressions (the next deep document then kills the process).
    const tooDeep = deeperThan(source, MAX_YAML_DEPTH);
    if (tooDeep) return { ok: false, errors: [{ path: '', message: `YAML nested deeper than ${MAX_YAML_DEPTH} levels`, line: tooDeep.line, column: tooDeep.col } as Error] };
    const lineCounter = new LineCounter();
    const doc = parseDocument(source, { lineCounter, prettyErrors: false, uniqueKeys: true });
    if (doc.errors.length > 0) {
      return {
        ok: false,
        errors: doc.errors.map((error) => {
          const { line, col } = lineCounter.linePos(error.pos[0]);
          return { path: '', message: `YAML syntax: ${error.message}`, line, column: col } as Error;
        }),
      };
    }
    let data: unknown;
    try {
      data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (error) {
      // An alias bomb (aliases of aliases, expanding exponentially) or any other document the YAML library cannot turn into data.
      const alias = firstAliasOffset(doc);
      const position = alias === undefined ? {} : (({ line, col }) => ({ line, column: col }))(lineCounter.linePos(alias));
      const message = /alias/i.test((error as Error).message)
        ? `YAML aliases expand to too many nodes (more than ${MAX_ALIAS_COUNT} for one alias): write the repeated part out`
        : `YAML: ${(error as Error).message}`;
      return { ok: false, errors: [{ path: '', message, ...position } as Error] };
    }
    if (data === null || data === undefined) return { ok: false, errors: [{ path: '', message: spec.emptyFileMessage } as Error] };
    const parsed = spec.schema.safeParse(data, { error: readableMessage });
    if (parsed.success) {
      const issues = checks.flatMap((check) => check(parsed.data));
      return issues.length === 0 ? { ok: true, document: parsed.data } : { ok: false, errors: located(issues, data, doc, lineCounter) };
    }
    const errors = parsed.error.issues.flatMap((issue) => flatten(issue, []));
    for (const [key, listPath] of lists) errors.push(...duplicateIds(data, listPath, key, errors));
    return { ok: false, errors: located(errors, data, doc, lineCounter) };
  }

  /** Field errors → the API's errors: deduplicated, with the item they are inside and their position, in file order. */
  function located(errors: FlatError[], data: unknown, doc: Document, lineCounter: LineCounter): Error[] {
    const seen = new Set<string>();
    return errors
      .filter(({ path, message }) => {
        const key = `${String(path.join('\u0000'))}\u0001${message}`;
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
      })
      .map(({ path, message, keyOnly }) => {
        const error = { path: formatPath(path), message } as Error;
        for (const [key, listPath] of lists) {
          const id = itemId(data, listPath, path);
          if (id !== undefined) Object.assign(error, { [key]: id });
        }
        const position = positionOf(doc, lineCounter, path, keyOnly);
        if (position) Object.assign(error, position);
        return error;
      })
      .sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity) || (a.column ?? 0) - (b.column ?? 0));
  }

  function locate(source: string, issues: readonly DocumentIssue[]): Error[] {
    const lineCounter = new LineCounter();
    const doc = parseDocument(source, { lineCounter, prettyErrors: false, uniqueKeys: true });
    return located(
      issues.map(({ path, message }) => ({ path, message })),
      doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }),
      doc,
      lineCounter,
    );
  }

  function read(file: string): ConfigFileResult<z.output<S>, Error> & { source?: string } {
    let source: string;
    try {
      source = readFileSync(file, 'utf8');
    } catch (error) {
      return { ok: false, errors: [{ path: '', message: `cannot read ${file}: ${(error as Error).message}` } as Error] };
    }
    return { ...parse(source), source };
  }

  function formatError(error: Error): string {
    const at = error.line === undefined ? '' : ` (line ${error.line}${error.column === undefined ? '' : `, column ${error.column}`})`;
    for (const [key, listPath] of lists) {
      const list = formatPath(listPath);
      const itemPrefix = error.path.startsWith(`${list}[`) ? /^\[\d+\]/.exec(error.path.slice(list.length))?.[0] : undefined;
      if (itemPrefix === undefined) continue;
      const prefix = `${list}${itemPrefix}`;
      const rest = error.path.slice(prefix.length).replace(/^\./, '');
      const id = (error as Record<string, unknown>)[key];
      const named = typeof id === 'string' ? `${prefix} (${id})` : prefix;
      return `${named}${rest ? ` ${rest}` : ''}: ${error.message}${at}`;
    }
    return `${error.path || 'file'}: ${error.message}${at}`;
  }

  return { ...spec, parse, read, formatError, locate, checkedBy: (check) => configFormat(spec, [...checks, check]) };
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
  if (issue.code === 'invalid_key') {
    // A record's key refused by its key schema (office hours' `mon-fri`): the key's own message, at the key.
    return issue.issues.map((inner) => ({ path, message: inner.message, keyOnly: true }));
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

/** The value at `path` in the raw data, if there is one. */
function at(data: unknown, path: readonly PropertyKey[]): unknown {
  let value = data;
  for (const segment of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[segment];
  }
  return value;
}

/**
 * Duplicate ids in a named list, from the raw data: a schema checks them only once every item is
 * otherwise valid, and an author should see all problems in one pass.
 */
function duplicateIds(data: unknown, listPath: readonly string[], noun: string, already: FlatError[]): FlatError[] {
  const items = at(data, listPath);
  if (!Array.isArray(items)) return [];
  const seen = new Set<string>();
  const found: FlatError[] = [];
  items.forEach((item, index) => {
    const id = (item as { id?: unknown } | null)?.id;
    if (typeof id !== 'string') return;
    if (seen.has(id)) found.push({ path: [...listPath, index, 'id'], message: `duplicate ${noun} id "${id}"` });
    seen.add(id);
  });
  return found.filter((d) => !already.some((e) => e.message === d.message && formatPath(e.path) === formatPath(d.path)));
}

/** The id of the item of the list at `listPath` that `path` is inside, if it has one. */
function itemId(data: unknown, listPath: readonly string[], path: Path): string | undefined {
  const index = path[listPath.length];
  if (typeof index !== 'number' || !listPath.every((segment, i) => path[i] === segment)) return undefined;
  const id = (at(data, [...listPath, index]) as { id?: unknown } | null | undefined)?.id;
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
