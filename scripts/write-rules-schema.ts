// Writes schemas/rules.schema.json, schemas/escalation-policy.schema.json, schemas/funnel.schema.json,
// schemas/email.schema.json, schemas/template.schema.json and schemas/alerts.schema.json from the zod
// schemas (src/rules/rules-schema.ts, src/rules/escalation-policy-schema.ts, src/funnel/funnel-schema.ts,
// src/mail/email-settings.ts, src/mail/email-templates.ts, src/rules/alerts-schema.ts): `npm run rules:schema`.
// A test fails when a checked-in file is out of date.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { configJsonSchemaText } from '../src/rules/config-json-schema.ts';
import { funnelFormat } from '../src/funnel/funnel-file.ts';
import { escalationPolicyFormat } from '../src/rules/escalation-policy-file.ts';
import { rulesFormat } from '../src/rules/rules-file.ts';
import { emailSettingsFormat } from '../src/mail/email-settings.ts';
import { templateMetaFormat } from '../src/mail/email-templates.ts';
import { alertsFormat } from '../src/rules/alerts-file.ts';

for (const [file, format] of [
  ['rules.schema.json', rulesFormat],
  ['escalation-policy.schema.json', escalationPolicyFormat],
  ['funnel.schema.json', funnelFormat],
  ['email.schema.json', emailSettingsFormat],
  ['template.schema.json', templateMetaFormat],
  ['alerts.schema.json', alertsFormat],
] as const) {
  const target = fileURLToPath(new URL(`../schemas/${file}`, import.meta.url));
  writeFileSync(target, configJsonSchemaText(format));
  process.stdout.write(`wrote ${target}\n`);
}
