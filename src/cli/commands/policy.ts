import type { Command } from 'commander';
import { escalationPolicyFormat } from '../../rules/escalation-policy-file.ts';
import { versionedConfigCommand } from './versioned-config-command.ts';

const plural = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;

/** Adds `policy validate|diff|apply|history` (the escalation policy, /v1/escalation-policy) to the program. */
export function policyCommand(program: Command): void {
  versionedConfigCommand(program, {
    name: 'policy',
    description: 'escalation policy: validate a file offline; diff, apply and history through the HTTP API (admin key)',
    format: escalationPolicyFormat,
    apiPath: '/v1/escalation-policy',
    summarise: ({ criteria, levels, claimSla, resolutionSla, officeHours }) =>
      `${plural(criteria.stalls.length, 'stall')}, ${plural(levels.length, 'level')}, claim SLA ${claimSla}, resolution SLA ${resolutionSla}${officeHoursSummary(levels.map((level) => (level.officeHours ?? officeHours)?.timeZone))}`,
  });
}

/** `, in office hours: level 1 Europe/Paris, level 2 around the clock`; nothing when no level has office hours. */
function officeHoursSummary(zones: (string | undefined)[]): string {
  if (zones.every((zone) => zone === undefined)) return '';
  if (zones.every((zone) => zone === zones[0])) return `, in office hours (${zones[0]})`;
  return `, in office hours: ${zones.map((zone, index) => `level ${index + 1} ${zone ?? 'around the clock'}`).join(', ')}`;
}
