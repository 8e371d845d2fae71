// Writes schemas/rules.schema.json, schemas/escalation-policy.schema.json and schemas/funnel.schema.json
// from the zod schemas (src/rules/rules-schema.ts, src/rules/escalation-policy-schema.ts,
// src/funnel/funnel-schema.ts): `npm run rules:schema`.
// A test fails when a checked-in file is out of date.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { configJsonSchemaText } from '../src/rules/config-json-schema.ts';
import { funnelFormat } from '../src/funnel/funnel-file.ts';
import { escalationPolicyFormat } from '../src/rules/escalation-policy-file.ts';
import { rulesFormat } from '../src/rules/rules-file.ts';

for (const [file, format] of [
  ['rules.schema.json', rulesFormat],
  ['escalation-policy.schema.json', escalationPolicyFormat],
  ['funnel.schema.json', funnelFormat],
] as const) {
  const target = fileURLToPath(new URL(`../schemas/${file}`, import.meta.url));
  writeFileSync(target, configJsonSchemaText(format));
  process.stdout.write(`wrote ${target}\n`);
}
