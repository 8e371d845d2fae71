// Writes schemas/rules.schema.json from the zod schema (src/rules/rules-schema.ts):
// `npm run rules:schema`. A test fails when the checked-in file is out of date.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { rulesJsonSchemaText } from '../src/rules/rules-json-schema.ts';

const target = fileURLToPath(new URL('../schemas/rules.schema.json', import.meta.url));
writeFileSync(target, rulesJsonSchemaText());
process.stdout.write(`wrote ${target}\n`);
