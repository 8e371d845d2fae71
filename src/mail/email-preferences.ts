import type pg from 'pg';

export interface EmailPreferences {
  email: 'granted' | 'revoked';
  /** Only the categories the developer chose; any other is granted. */
  categories: Record<string, 'granted' | 'revoked'>;
}

/** A developer's preferences (email_preferences); none recorded: everything granted. */
export async function readEmailPreferences(pool: pg.Pool, developerId: string): Promise<EmailPreferences> {
  const [row] = (await pool.query<EmailPreferences>('SELECT email, categories FROM email_preferences WHERE developer_id = $1', [developerId])).rows;
  return row ?? { email: 'granted', categories: {} };
}

/** True when the developer turned `category` off in the preference centre. */
export async function readCategoryOptOut(pool: pg.Pool, developerId: string, category: string): Promise<boolean> {
  const { rows } = await pool.query(`SELECT 1 FROM email_preferences WHERE developer_id = $1 AND categories->>$2 = 'revoked'`, [developerId, category]);
  return rows.length > 0;
}
