import type { Logger } from 'pino';
import type { JourneyWorkerOptions } from '../assembly/journey-worker.ts';
import { publicUrl, type Config } from '../config.ts';
import { SlackGateway, slackLogger } from '../slack/slack-gateway.ts';

/** The Slack client when SLACK_BOT_TOKEN is set; without it, cases live in the API only. */
export function slackGateway(config: Config, logger: Logger): SlackGateway | undefined {
  if (!config.SLACK_BOT_TOKEN) return undefined;
  return new SlackGateway({ token: config.SLACK_BOT_TOKEN, ...(config.SLACK_API_URL ? { slackApiUrl: config.SLACK_API_URL } : {}), logger: slackLogger(logger) });
}

/** Everything the handoff activities need, from the environment. */
export function handoffActivityDeps(config: Config, logger: Logger): JourneyWorkerOptions['handoffs'] {
  const slack = slackGateway(config, logger);
  return {
    ...(slack ? { slack } : {}),
    publicUrl: publicUrl(config),
  };
}
