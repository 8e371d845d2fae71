import type { ReadFunnelInForce } from '../../src/funnel/funnel-in-force.ts';
import { funnelFormat } from '../../src/funnel/funnel-file.ts';
import type { FixtureDeveloper } from './metrics-app.ts';

/**
 * A funnel other than the shipped one, for the tests of the metrics that follow the funnel in
 * force: four stages with their own ids, labels and roles (`withRoles`), or the same stages with
 * no roles at all.
 */
export function customFunnel({ withRoles }: { withRoles: boolean }): ReadFunnelInForce {
  const role = (name: string) => (withRoles ? `\n    role: ${name}` : '');
  const parsed = funnelFormat.parse(`stages:
  - id: signed_up
    label: Signed up
    evidence: [{ event: developer.signed_up }]
  - id: hello_world
    label: Hello world${role('first_call')}
    evidence: [{ request: { status: 2xx } }]
  - id: team_invited
    label: Team invited
    evidence: [{ event: team.member_invited }]
  - id: paying
    label: Paying customer${role('production')}
    evidence: [{ event: payment.succeeded }]
`);
  if (!parsed.ok) throw new Error(parsed.errors.map(funnelFormat.formatError).join('\n'));
  const inForce = { version: 1, document: parsed.document }; // the version the rows the tests insert are recorded under
  return async () => inForce;
}

/*
 * Five developers in the custom funnel's stages (insertDevelopers also writes an account_created
 * row at each signup: a stage this funnel does not hold, which its metrics must ignore).
 *
 * 2027-W01 (Mon 2027-01-04 … Sun 2027-01-10)
 *   p1 hello_world +2 h (7200 s), team_invited +1 d, paying 6 d after signup
 *   p2 hello_world +4 h (14400 s), paying 15 d after signup: team_invited SKIPPED
 *   p3 hello_world +1 d (86400 s), nothing more
 *   p4 nothing after signing up
 * 2027-W10 (Mon 2027-03-08 …)
 *   q1 hello_world +8 h (28800 s), team_invited the next day (its 30-day window to paying open at CUSTOM_AS_OF)
 */
export const CUSTOM_AS_OF = '2027-03-15T00:00:00.000Z';
export const CUSTOM_FUNNEL_DEVELOPERS: FixtureDeveloper[] = [
  {
    id: 'p1',
    channel: 'organic_search',
    accountType: 'individual',
    signup: '2027-01-04T00:00:00Z',
    stages: { signed_up: '2027-01-04T00:00:00Z', hello_world: '2027-01-04T02:00:00Z', team_invited: '2027-01-05T00:00:00Z', paying: '2027-01-10T00:00:00Z' },
  },
  {
    id: 'p2',
    channel: 'paid',
    accountType: 'organization',
    signup: '2027-01-05T00:00:00Z',
    stages: { signed_up: '2027-01-05T00:00:00Z', hello_world: '2027-01-05T04:00:00Z', paying: '2027-01-20T00:00:00Z' },
  },
  {
    id: 'p3',
    channel: 'organic_search',
    accountType: 'individual',
    signup: '2027-01-06T00:00:00Z',
    stages: { signed_up: '2027-01-06T00:00:00Z', hello_world: '2027-01-07T00:00:00Z' },
  },
  { id: 'p4', channel: 'listing_site', accountType: 'individual', signup: '2027-01-07T00:00:00Z', stages: { signed_up: '2027-01-07T00:00:00Z' } },
  {
    id: 'q1',
    channel: 'organic_search',
    accountType: 'individual',
    signup: '2027-03-08T00:00:00Z',
    stages: { signed_up: '2027-03-08T00:00:00Z', hello_world: '2027-03-08T08:00:00Z', team_invited: '2027-03-09T00:00:00Z' },
  },
];
