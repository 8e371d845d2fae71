import { z } from 'zod';
import type { ConfigFormat } from './config-file.ts';
import { duration } from './duration-schema.ts';

/** What the `ms` package accepts, lower-case and with a unit: a hint for editors (the server runs `ms` itself). */
const DURATION_PATTERN = '^(\\d+(\\.\\d+)?|\\.\\d+) *(ms|msecs?|milliseconds?|s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?|d|days?|w|weeks?|y|yrs?|years?)$';

/** True for the duration schema and the copies `.describe()` made of it. */
function isDuration(schema: z.core.$ZodType): boolean {
  for (let s: z.core.$ZodType | undefined = schema; s; s = s._zod.parent) if (s === duration) return true;
  return false;
}

/**
 * A config format's document as JSON Schema (draft 2020-12), for editors (the first line of
 * config/rules.yaml and config/escalation.yaml) and `GET /v1/schemas/…`. The input side: fields
 * with defaults are optional. Checks JSON Schema cannot express (a positive duration, unique ids)
 * are the server's.
 */
export function configJsonSchema(format: Pick<ConfigFormat, 'schema' | 'title'>): Record<string, unknown> {
  const schema = z.toJSONSchema(format.schema, {
    io: 'input',
    target: 'draft-2020-12',
    override: (ctx) => {
      if (isDuration(ctx.zodSchema)) ctx.jsonSchema.pattern = DURATION_PATTERN;
    },
  });
  return { ...schema, title: format.title };
}

/** The checked-in file's exact text (`npm run rules:schema` writes them; a test compares). */
export function configJsonSchemaText(format: Pick<ConfigFormat, 'schema' | 'title'>): string {
  return `${JSON.stringify(configJsonSchema(format), null, 2)}\n`;
}
