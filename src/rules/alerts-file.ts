import { configFormat } from './config-file.ts';
import { alertsDocument } from './alerts-schema.ts';
import { packagePath } from '../package-root.ts';

/** An alerts file (YAML, config/alerts.yaml) → a validated `AlertsDocument`, or every error in it with its field and line. */
export const alertsFormat = configFormat({
  label: 'alerts',
  title: 'Onramp alerts',
  schema: alertsDocument,
  namedLists: {},
  emptyFileMessage: 'the file is empty: write `{}` for every default',
});

/** The alerts file Onramp ships (config/alerts.yaml). */
export const SHIPPED_ALERTS_FILE = packagePath('config', 'alerts.yaml');
