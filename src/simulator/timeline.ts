import type { IngestEvent } from '../events/event-schemas.ts';
import type { Stage } from '../journey/stages.ts';
import { ENDPOINTS } from './personas.ts';
import type { GroundTruth, SimulatedDeveloper } from './simulation-types.ts';

const DAY = 86_400_000;

/**
 * One synthetic developer's events as a generator makes them, kept only up to `until`, and the
 * ground truth written down as they are made (the stages the generator proves, the requests, the
 * first session); the truth records what was kept.
 */
export class Timeline {
  readonly events: IngestEvent[] = [];
  readonly truth: GroundTruth = {
    stages: {},
    sdk: null,
    requests: { total: 0, sdk: 0, raw: 0 },
    firstSessionEndpoints: 0,
    firstSessionRequests: 0,
    firstSessionErrors: {},
    tickets: 0,
    emailHabit: 'ignores',
  };
  private seq = 0;
  private readonly requests: { at: number; status: number; endpoint: string }[] = [];

  constructor(
    readonly id: string,
    private readonly until: number,
    /** The stage the first session is counted from (the funnel's first_call stage). */
    private readonly firstCallStage: Stage | undefined,
  ) {}

  emit(type: IngestEvent['type'], at: number, properties: Record<string, unknown>, stage?: Stage): boolean {
    this.seq++;
    if (at > this.until) return false;
    const event = { id: `${this.id}.${this.seq}`, type, occurredAt: new Date(Math.floor(at)).toISOString(), properties } as IngestEvent;
    if (type !== 'api.request' || properties.apiKey === undefined) (event as { developerId: string }).developerId = this.id;
    this.events.push(event);
    if (stage) this.prove(stage, at);
    return true;
  }

  /** A gateway log line: attributed through the API key as a gateway would send it, else by the developer's id. Whether it was kept. */
  request(at: number, r: { apiKey?: string; endpoint: string; status: number; userAgent: string; sdk: boolean; mode: 'test' | 'live'; method?: string }): boolean {
    const kept = this.emit('api.request', at, {
      ...(r.apiKey === undefined ? {} : { apiKey: r.apiKey }),
      endpoint: r.endpoint,
      method: r.method ?? (r.endpoint === ENDPOINTS[3] ? 'GET' : 'POST'),
      status: r.status,
      userAgent: r.userAgent,
      mode: r.mode,
      latencyMs: 40 + (this.seq % 200),
    });
    if (!kept) return false;
    this.truth.requests.total++;
    this.truth.requests[r.sdk ? 'sdk' : 'raw']++;
    this.requests.push({ at, status: r.status, endpoint: r.endpoint });
    return true;
  }

  /** Records a stage as reached at `at`, unless that is after `until` (its proof was not kept). */
  prove(stage: Stage, at: number): void {
    if (at > this.until) return;
    const current = this.truth.stages[stage];
    if (current === undefined || Date.parse(current) > at) this.truth.stages[stage] = new Date(Math.floor(at)).toISOString();
  }

  finish(): SimulatedDeveloper['events'] {
    const { requests, truth } = this;
    truth.sdk = truth.requests.total === 0 ? null : truth.requests.sdk > truth.requests.raw;
    const firstCallAt = this.firstCallStage === undefined ? undefined : truth.stages[this.firstCallStage];
    const firstCall = firstCallAt ? Date.parse(firstCallAt) : undefined;
    if (firstCall !== undefined) {
      truth.firstSessionEndpoints = new Set(requests.filter((r) => r.status < 300 && r.status >= 200 && r.at >= firstCall && r.at <= firstCall + DAY).map((r) => r.endpoint)).size;
    }
    if (requests.length > 0) {
      const firstRequest = Math.min(...requests.map((r) => r.at));
      const session = requests.filter((q) => q.at <= firstRequest + DAY);
      truth.firstSessionRequests = session.length;
      for (const r of session.filter((q) => q.status >= 400)) {
        const key = r.status >= 500 ? '5xx' : (String(r.status) as '401' | '400' | '429');
        truth.firstSessionErrors[key] = (truth.firstSessionErrors[key] ?? 0) + 1;
      }
    }
    return this.events.sort((a, b) => a.occurredAt.localeCompare(b.occurredAt) || a.id.localeCompare(b.id));
  }
}
