import type pg from 'pg';
import { stageWithRole, type ReadFunnelInForce } from '../funnel/funnel-in-force.ts';
import { applyRetention } from '../retention/apply-retention.ts';
import type { RawRequestWindow } from '../retention/raw-request-window.ts';
import { whileHeartbeating } from './heartbeat.ts';

export interface RetentionActivityDeps {
  pool: pg.Pool;
  funnelInForce: ReadFunnelInForce;
  rawRequestWindow: RawRequestWindow;
}

/** What a round did, as the Temporal UI shows the workflow's result. */
export interface RetentionSummary {
  created: string[];
  dropped: { partition: string; rolledUp: number; kept: number }[];
  droppedIdDays: string[];
}

export type RetentionActivities = ReturnType<typeof createRetentionActivities>;

export function createRetentionActivities({ pool, funnelInForce, rawRequestWindow }: RetentionActivityDeps) {
  return {
    /** One round of the storage retention policy; each of its steps commits alone, so a retried attempt goes on from the last. */
    async applyRequestRetention(): Promise<RetentionSummary> {
      const { document } = await funnelInForce();
      return whileHeartbeating(() => applyRetention(pool, { window: rawRequestWindow, firstCallStage: stageWithRole(document, 'first_call') ?? null }));
    },
  };
}
