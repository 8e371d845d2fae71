-- An alert whose Slack message Slack refused for good (channel_not_found, invalid_auth …): the
-- error code, and the message is not posted again (a refusal used to be retried every round).
ALTER TABLE "alerts" ADD COLUMN "slack_error" TEXT;
