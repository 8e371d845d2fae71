import GithubSlugger from 'github-slugger';
import MarkdownIt, { type Token } from 'markdown-it';
import { readFileSync } from 'node:fs';

/** One Markdown file as the docs check reads it: its links, its anchors, its headings and tables. */
export interface MarkdownDoc {
  path: string;
  /** Every link target (`href`) with the line it is on. */
  links: { href: string; line: number }[];
  /** The anchors GitHub generates for its headings, plus explicit `<a id>` / `<a name>`. */
  anchors: Set<string>;
  headings: { level: number; text: string; line: number }[];
  /** Table rows as plain cell texts (code spans keep their backticks), header rows left out. */
  tableRows: { cells: string[]; line: number }[];
  lines: string[];
}

const markdown = new MarkdownIt({ html: true });

/** The rendered text of an inline token (what GitHub slugs): text and code spans, no markup. */
function plainText(inline: Token | undefined): string {
  return (inline?.children ?? []).map((child) => (child.type === 'text' || child.type === 'code_inline' ? child.content : '')).join('');
}

/** Cell text with code spans in backticks, so a check can tell `NAME` from prose. */
function cellText(inline: Token | undefined): string {
  return (inline?.children ?? [])
    .map((child) => (child.type === 'code_inline' ? `\`${child.content}\`` : child.type === 'text' ? child.content : ''))
    .join('')
    .trim();
}

export function readMarkdown(path: string): MarkdownDoc {
  const source = readFileSync(path, 'utf8');
  const tokens = markdown.parse(source, {});
  const slugger = new GithubSlugger();
  const doc: MarkdownDoc = { path, links: [], anchors: new Set(), headings: [], tableRows: [], lines: source.split('\n') };
  let inHeader = false;
  let row: { cells: string[]; line: number } | undefined;
  tokens.forEach((token, index) => {
    const line = (token.map?.[0] ?? 0) + 1;
    if (token.type === 'heading_open') {
      const text = plainText(tokens[index + 1]);
      doc.headings.push({ level: Number(token.tag.slice(1)), text, line });
      doc.anchors.add(slugger.slug(text));
    }
    if (token.type === 'thead_open') inHeader = true;
    if (token.type === 'thead_close') inHeader = false;
    if (token.type === 'tr_open' && !inHeader) row = { cells: [], line };
    if ((token.type === 'td_open' || token.type === 'th_open') && row) row.cells.push(cellText(tokens[index + 1]));
    if (token.type === 'tr_close' && row) {
      doc.tableRows.push(row);
      row = undefined;
    }
    if (token.type === 'html_block' || token.type === 'inline') {
      for (const match of token.content.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) doc.anchors.add(match[1]!);
    }
    if (token.type !== 'inline') return;
    for (const child of token.children ?? []) {
      const href = child.type === 'link_open' ? child.attrGet('href') : child.type === 'image' ? child.attrGet('src') : null;
      if (typeof href === 'string') doc.links.push({ href, line });
    }
  });
  return doc;
}

/** The lines under a heading, up to the next heading of the same or a higher level. */
export function sectionText(doc: MarkdownDoc, heading: { level: number; line: number }): string {
  const next = doc.headings.find((h) => h.line > heading.line && h.level <= heading.level);
  return doc.lines.slice(heading.line, next ? next.line - 1 : undefined).join('\n');
}

/** The table rows under the heading with this text (up to the next heading of its level or higher). */
export function rowsUnder(doc: MarkdownDoc, headingText: string): MarkdownDoc['tableRows'] {
  const heading = doc.headings.find((h) => h.text === headingText);
  if (!heading) throw new Error(`${doc.path}: no heading "${headingText}"`);
  const next = doc.headings.find((h) => h.line > heading.line && h.level <= heading.level);
  return doc.tableRows.filter((row) => row.line > heading.line && (!next || row.line < next.line));
}
