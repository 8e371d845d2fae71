import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import type { JourneyWorkerOptions } from '../../src/assembly/journey-worker.ts';
import { outboxMailer, type Mailer } from '../../src/mail/mailer.ts';

export const SIGNING_SECRET = 'test-signing-secret-0123456789abcdef';
export const PUBLIC_URL = 'http://onramp.test';

/** The nudge activities' dependencies for tests and the bench: the shipped templates. */
export function testNudgeDeps(pool: pg.Pool, overrides: Partial<JourneyWorkerOptions['nudges']> = {}): JourneyWorkerOptions['nudges'] {
  const mailer: Mailer = overrides.mailer ?? outboxMailer();
  return {
    mailer,
    templatesDir: fileURLToPath(new URL('../../templates', import.meta.url)),
    from: 'Onramp <onboarding@onramp.test>',
    publicUrl: PUBLIC_URL,
    signingSecret: SIGNING_SECRET,
    tracking: { html: true, text: false },
    docsUrl: 'https://docs.example.com',
    ...overrides,
  };
}
