import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { JourneyWorkerOptions } from '../assembly/journey-worker.ts';
import { publicUrl, type Config } from '../config.ts';
import { outboxMailer, smtpMailer } from '../mail/mailer.ts';

/** The secret that signs the links in emails (unsubscribe, tracking): ONRAMP_SIGNING_SECRET, else one kept in the data dir. */
export function signingSecret(config: Config): string {
  if (config.ONRAMP_SIGNING_SECRET) return config.ONRAMP_SIGNING_SECRET;
  const dir = resolve(config.ONRAMP_DATA_DIR);
  const file = join(dir, 'signing-secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dir, { recursive: true });
  const secret = randomBytes(32).toString('base64url');
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}

/** Everything the nudge activities need, from the environment: SMTP or the local outbox. */
export function nudgeActivityDeps(config: Config): JourneyWorkerOptions['nudges'] {
  return {
    mailer: config.SMTP_URL ? smtpMailer(config.SMTP_URL) : outboxMailer(),
    templatesDir: resolve(config.ONRAMP_TEMPLATES_DIR),
    from: config.ONRAMP_MAIL_FROM,
    publicUrl: publicUrl(config),
    signingSecret: signingSecret(config),
    tracking: config.ONRAMP_EMAIL_TRACKING,
    docsUrl: config.ONRAMP_DOCS_URL,
  };
}
