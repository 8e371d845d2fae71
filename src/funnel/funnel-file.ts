import { configFormat } from '../rules/config-file.ts';
import type { FunnelVersion } from './funnel-in-force.ts';
import { funnelDocument } from './funnel-schema.ts';
import { packagePath } from '../package-root.ts';

/**
 * A funnel file (YAML) → a validated `FunnelDocument`, or every error in it, each naming the field
 * (`stages[3].evidence[0].request.within`), the stage it belongs to (its id), the line and column.
 * A file with any error is rejected whole.
 */
export const funnelFormat = configFormat({
  label: 'funnel',
  title: 'Onramp funnel',
  schema: funnelDocument,
  namedLists: { stage: ['stages'] },
  emptyFileMessage: 'the file is empty: it needs a `stages:` list',
});

/** The funnel Onramp ships (config/funnel.yaml): the seven stages of the reference model. */
export const SHIPPED_FUNNEL_FILE = packagePath('config', 'funnel.yaml');

/** The shipped funnel as version 1: what the engine follows where no funnel store is given (tests, tools). */
export function shippedFunnel(): FunnelVersion {
  return readFunnelFile(SHIPPED_FUNNEL_FILE);
}

function readFunnelFile(file: string): FunnelVersion {
  const read = funnelFormat.read(file);
  if (!read.ok) throw new Error(`${file} is not a valid funnel:\n${read.errors.map((error) => `  ${funnelFormat.formatError(error)}`).join('\n')}`);
  return { version: 1, document: read.document };
}
