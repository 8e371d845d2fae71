import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// This module sits one folder below the package root both as source (src/package-root.ts) and
// compiled (bundled into dist/onramp.js or a chunk beside it), so one relative step finds the root from either: a
// per-file `new URL('../../x', import.meta.url)` would break once every file is one bundle.
const root = fileURLToPath(new URL('..', import.meta.url));

/** A file shipped with Onramp (config/, prisma/migrations, package.json …), by its path from the package root. */
export const packagePath = (...parts: string[]): string => join(root, ...parts);
