import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { diffSources } from '../rules/versioned-config-store.ts';

/**
 * The templates folder as data: every file `EmailTemplates` reads, by its path relative to the
 * folder (`email.yaml`, `first-call-help/html.hbs`, `first-call-help/fr/subject.hbs`). A templates
 * version stores exactly this, so what is rendered from a version is what was validated and diffed.
 */
export type TemplateFiles = Readonly<Record<string, string>>;

/** What `EmailTemplates` reads from: the folder on disk (read on use), or a version's files. */
export interface TemplateSource {
  /** Where the files are, in messages: a folder's path, `templates v3`. */
  readonly label: string;
  /** Whether there is anything to read (a folder that does not exist: no). */
  exists(): boolean;
  /** A file's text by its relative path, or undefined when there is no such file. */
  read(path: string): string | undefined;
  /** The names of the folders directly inside `path` ('' for the top), sorted. */
  folders(path: string): string[];
}

/**
 * The paths a templates version may hold: email.yaml, and a template folder's parts and metadata,
 * directly or in one translation folder (any name: a name that is no language tag is reported by
 * the check, not dropped).
 */
export const TEMPLATE_FILE_PATH = /^(?:email\.yaml|[a-z0-9][a-z0-9-]*\/(?:[A-Za-z0-9_][A-Za-z0-9_.-]*\/)?(?:subject\.hbs|text\.hbs|html\.hbs|template\.yaml))$/;

/** The folder on disk, read at every call (an edit shows at the next read). */
export function folderSource(dir: string): TemplateSource {
  return {
    label: dir,
    exists: () => existsSync(dir),
    read: (path) => {
      const file = join(dir, path);
      return existsSync(file) ? readFileSync(file, 'utf8') : undefined;
    },
    folders: (path) => {
      const folder = join(dir, path);
      return existsSync(folder)
        ? readdirSync(folder, { withFileTypes: true })
            .filter((e) => e.isDirectory())
            .map((e) => e.name)
            .sort()
        : [];
    },
  };
}

/** A version's files (`label`: `templates v3`). */
export function filesSource(files: TemplateFiles, label: string): TemplateSource {
  return {
    label,
    exists: () => true,
    read: (path) => (Object.hasOwn(files, path) ? files[path] : undefined),
    folders: (path) => {
      const prefix = path === '' ? '' : `${path}/`;
      const names = new Set<string>();
      for (const file of Object.keys(files)) {
        if (!file.startsWith(prefix)) continue;
        const rest = file.slice(prefix.length).split('/');
        if (rest.length > 1) names.add(rest[0]!);
      }
      return [...names].sort();
    },
  };
}

/** The folder's files a version holds (TEMPLATE_FILE_PATH), in path order; others (README.md) are not templates. */
export function readTemplateFolder(dir: string): TemplateFiles {
  const source = folderSource(dir);
  const paths = ['email.yaml'];
  for (const name of source.folders('')) {
    for (const folder of [name, ...source.folders(name).map((sub) => `${name}/${sub}`)]) {
      paths.push(...['subject.hbs', 'text.hbs', 'html.hbs', 'template.yaml'].map((file) => `${folder}/${file}`));
    }
  }
  const files: Record<string, string> = {};
  for (const path of paths.filter((p) => TEMPLATE_FILE_PATH.test(p)).sort()) {
    const text = source.read(path);
    if (text !== undefined) files[path] = text;
  }
  return files;
}

/** SHA-256 (hex) of the paths and texts, independent of the order they were listed in. */
export function templateFilesHash(files: TemplateFiles): string {
  const hash = createHash('sha256');
  for (const path of Object.keys(files).sort()) hash.update(`${JSON.stringify(path)}:${JSON.stringify(files[path])}\n`);
  return hash.digest('hex');
}

/** One unified diff per file added, changed or removed between two snapshots (`a/…` → `b/…`), in path order. */
export function diffTemplateFiles(from: { label: string; files: TemplateFiles }, to: { label: string; files: TemplateFiles }): string {
  const paths = [...new Set([...Object.keys(from.files), ...Object.keys(to.files)])].sort();
  return paths
    .filter((path) => from.files[path] !== to.files[path])
    .map((path) =>
      diffSources(
        { label: Object.hasOwn(from.files, path) ? `${from.label}/${path}` : `${from.label} (no ${path})`, source: from.files[path] ?? '' },
        { label: Object.hasOwn(to.files, path) ? `${to.label}/${path}` : `${to.label} (no ${path})`, source: to.files[path] ?? '' },
      ),
    )
    .join('');
}
