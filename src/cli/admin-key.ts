import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** Where the embedded default keeps its admin key. */
export function adminKeyFile(dataDir: string): string {
  return join(resolve(dataDir), 'admin-key');
}

/** The embedded default's admin key (rules endpoints): generated once, kept in the data dir (owner-only). */
export function embeddedAdminKey(dataDir: string): string {
  const file = adminKeyFile(dataDir);
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const key = `onr_admin_${randomBytes(24).toString('base64url')}`;
  writeFileSync(file, `${key}\n`, { mode: 0o600 });
  return key;
}
