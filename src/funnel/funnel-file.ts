import { configFormat } from '../rules/config-file.ts';
import { funnelDocument } from './funnel-schema.ts';

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
