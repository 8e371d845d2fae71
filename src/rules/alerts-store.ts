import type pg from 'pg';
import { CONFIG_TABLES, VersionedConfigStore } from './versioned-config-store.ts';
import { alertsFormat } from './alerts-file.ts';
import type { alertsDocument } from './alerts-schema.ts';

/** Alerts document versions (`alert_versions`), versioned and audited like the nudge rules; config/alerts.yaml is version 1. */
export class AlertsStore extends VersionedConfigStore<typeof alertsDocument> {
  constructor(pool: pg.Pool) {
    super(pool, { table: CONFIG_TABLES.alerts, format: alertsFormat, auditAction: 'alerts.applied' });
  }
}
