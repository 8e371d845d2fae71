import { parse } from 'parse5';

/** Every value of an attribute on the elements named so, as a mail client's HTML parser reads them. */
export function attributes(html: string, tag: string, name: string): string[] {
  const found: string[] = [];
  const visit = (node: any) => {
    if (node.tagName === tag) found.push(...node.attrs.filter((a: any) => a.name === name).map((a: any) => a.value));
    node.childNodes?.forEach(visit);
  };
  visit(parse(html));
  return found;
}
