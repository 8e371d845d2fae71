import type pg from 'pg';
import { CONFIG_TABLES, TEMPLATE_VERSIONS_TABLE } from '../rules/versioned-config-store.ts';

/** A point on the team's timeline: a version of the rules, the escalation policy, the funnel or the templates, or an annotation. */
export interface ChangeMarker {
  at: string;
  kind: 'rules' | 'escalation_policy' | 'funnel' | 'templates' | 'annotation';
  /** The version (config), or the annotation's id. */
  id: string;
  text: string;
  author: string;
}

/** Every change between from and to (either open), oldest first: what the cohort charts mark. */
export async function changeTimeline(pool: pg.Pool, range: { from?: Date; to?: Date }): Promise<ChangeMarker[]> {
  const versions = (kind: ChangeMarker['kind'], table: string) => `SELECT created_at AS at, '${kind}' AS kind, version::text AS id, reason AS text, author FROM ${table}`;
  const { rows } = await pool.query<{ at: Date; kind: ChangeMarker['kind']; id: string; text: string; author: string }>(
    `SELECT * FROM (${versions('rules', CONFIG_TABLES.rules)} UNION ALL ${versions('escalation_policy', CONFIG_TABLES.escalationPolicy)}
                    UNION ALL ${versions('funnel', CONFIG_TABLES.funnel)} UNION ALL ${versions('templates', TEMPLATE_VERSIONS_TABLE)}
                    UNION ALL SELECT at, 'annotation', id::text, text, author FROM annotations) c
      WHERE ($1::timestamptz IS NULL OR at >= $1) AND ($2::timestamptz IS NULL OR at < $2)
      ORDER BY at, kind, id`,
    [range.from ?? null, range.to ?? null],
  );
  return rows.map((r) => ({ ...r, at: r.at.toISOString() }));
}
