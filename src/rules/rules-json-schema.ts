import { z } from 'zod';
import { duration, rulesDocument } from './rules-schema.ts';

/** What the `ms` package accepts, lower-case and with a unit: a hint for editors (the server runs `ms` itself). */
const DURATION_PATTERN = '^(\\d+(\\.\\d+)?|\\.\\d+) *(ms|msecs?|milliseconds?|s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?|d|days?|w|weeks?|y|yrs?|years?)$';

/** True for the duration schema and the copies `.describe()` made of it. */
function isDuration(schema: z.core.$ZodType): boolean {
  for (let s: z.core.$ZodType | undefined = schema; s; s = s._zod.parent) if (s === duration) return true;
  return false;
}

/**
 * The rules document as JSON Schema (draft 2020-12), for editors (config/rules.yaml's first line)
 * and `GET /v1/schemas/rules`. The input side: fields with defaults are optional. Checks JSON
 * Schema cannot express (a positive duration, unique rule ids) are the server's.
 */
export function rulesJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(rulesDocument, {
    io: 'input',
    target: 'draft-2020-12',
    override: (ctx) => {
      if (isDuration(ctx.zodSchema)) ctx.jsonSchema.pattern = DURATION_PATTERN;
    },
  });
  return { ...schema, title: 'Onramp nudge rules' };
}

/** The checked-in file's exact text (`npm run rules:schema` writes it; a test compares). */
export function rulesJsonSchemaText(): string {
  return `${JSON.stringify(rulesJsonSchema(), null, 2)}\n`;
}
