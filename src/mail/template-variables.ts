import Handlebars from 'handlebars';

/**
 * The variables a nudge template may use (templates/README.md lists them, a test checks it) and a
 * static check of a Handlebars source against them, so a typo (`{{developr.name}}`) is refused
 * when the rules that send it are validated, not rendered as an empty string in a sent email.
 */
export const TEMPLATE_VARIABLES = [
  'developer.id',
  'developer.accountType',
  'developer.channel',
  'developer.name',
  'developer.firstName',
  'developer.locale',
  'stage',
  'stageLabel',
  'endpoint',
  'status',
  'count',
  'product',
  'docsUrl',
  'unsubscribeUrl',
  'preferencesUrl',
] as const;

/** The block helpers Handlebars ships; a template registers none of its own. */
const BLOCK_HELPERS = new Set(['if', 'unless', 'each', 'with']);
/** Inside these, paths are relative to another context: not checked. */
const SCOPING_HELPERS = new Set(['each', 'with']);

const known = new Set<string>(TEMPLATE_VARIABLES);
const isKnown = (path: string) => known.has(path) || TEMPLATE_VARIABLES.some((v) => v.startsWith(`${path}.`));

export interface TemplateSourceProblem {
  message: string;
  line?: number;
  column?: number;
}

type Node = hbs.AST.Node;

/** Unknown variables and syntax errors in one Handlebars source, with their position. */
export function templateSourceProblems(source: string): TemplateSourceProblem[] {
  let program: hbs.AST.Program;
  try {
    program = Handlebars.parse(source);
  } catch (error) {
    const message = (error as Error).message.split('\n')[0]!;
    const line = /line (\d+)/.exec(message)?.[1];
    return [{ message: `Handlebars syntax: ${message}`, ...(line ? { line: Number(line) } : {}) }];
  }
  const problems: TemplateSourceProblem[] = [];
  const at = (node: Node) => ({ line: node.loc.start.line, column: node.loc.start.column + 1 });

  const expression = (node: Node, scoped: boolean) => {
    if (node.type === 'PathExpression') {
      const path = node as hbs.AST.PathExpression;
      if (scoped || path.data || path.depth > 0 || path.original === 'this' || path.original.startsWith('this.')) return;
      if (!isKnown(path.original)) problems.push({ message: `unknown variable {{${path.original}}} (known: ${TEMPLATE_VARIABLES.join(', ')})`, ...at(node) });
    } else if (node.type === 'SubExpression') {
      call(node as hbs.AST.SubExpression, scoped);
    }
  };

  const call = (node: { path: Node; params: Node[]; hash?: hbs.AST.Hash }, scoped: boolean) => {
    const helper = (node.path as hbs.AST.PathExpression).original;
    if (node.params.length === 0 && !node.hash) expression(node.path, scoped);
    else if (!BLOCK_HELPERS.has(helper) && helper !== 'lookup')
      problems.push({ message: `unknown helper "${helper}" (templates may use if, unless, each, with, lookup)`, ...at(node.path) });
    for (const param of node.params) expression(param, scoped);
    for (const pair of node.hash?.pairs ?? []) expression(pair.value, scoped);
  };

  const statements = (body: hbs.AST.Statement[], scoped: boolean) => {
    for (const node of body) {
      if (node.type === 'MustacheStatement') call(node as hbs.AST.MustacheStatement, scoped);
      else if (node.type === 'BlockStatement') {
        const block = node as hbs.AST.BlockStatement;
        const helper = (block.path as hbs.AST.PathExpression).original;
        if (BLOCK_HELPERS.has(helper)) for (const param of block.params) expression(param, scoped);
        else call(block, scoped);
        statements(block.program?.body ?? [], scoped || SCOPING_HELPERS.has(helper) || !BLOCK_HELPERS.has(helper));
        statements(block.inverse?.body ?? [], scoped);
      } else if (node.type === 'PartialStatement' || node.type === 'PartialBlockStatement' || node.type === 'DecoratorBlock') {
        problems.push({ message: 'partials and decorators are not available in nudge templates', ...at(node) });
      }
    }
  };
  statements(program.body, false);
  return problems;
}
