import { resolve } from 'node:path';
import type { Config } from '../config.ts';
import type { ConfigFiles } from '../funnel/config-in-force.ts';
import { EmailTemplates } from '../mail/email-templates.ts';

/** The files applied as version 1 at start-up, and the templates the rules are checked against. */
export function configFiles(config: Config): ConfigFiles {
  return {
    funnelFile: config.ONRAMP_FUNNEL_FILE,
    rulesFile: config.ONRAMP_RULES_FILE,
    escalationFile: config.ONRAMP_ESCALATION_FILE,
    alertsFile: config.ONRAMP_ALERTS_FILE,
    templates: new EmailTemplates(resolve(config.ONRAMP_TEMPLATES_DIR)),
  };
}
