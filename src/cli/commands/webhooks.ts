import { Option, type Command } from 'commander';
import { WEBHOOK_EVENT_TYPES } from '../../webhooks/webhook-events.ts';
import { DELIVERY_STATUSES, type WebhookAttemptView, type WebhookDeliveryView, type WebhookSubscription } from '../../webhooks/webhook-store.ts';
import { admin, withApi } from '../admin-command.ts';
import { intInRange } from '../option-parsers.ts';

/** `onramp webhooks …`: outgoing webhook subscriptions and their delivery log, through the API (admin key). */

const subscriptionRow = (w: WebhookSubscription) =>
  `${w.id}  ${w.url}\n    hears ${w.events.join(', ')}  ·  ${w.pending} pending, ${w.failed} given up  ·  last delivered ${w.lastDeliveredAt ?? 'never'}${w.description ? `  ·  ${w.description}` : ''}`;
const deliveryRow = (d: WebhookDeliveryView) =>
  `${d.id}  ${d.status.padEnd(9)}  ${d.type.padEnd(17)}  ${d.developerId.padEnd(24)}  ${String(d.attempts).padStart(2)} attempt${d.attempts === 1 ? ' ' : 's'}  ${
    d.status === 'delivered'
      ? `delivered ${d.deliveredAt}`
      : d.status === 'failed'
        ? `gave up: ${d.lastError ?? ''}`
        : d.attempts === 0
          ? 'queued (after what is ahead of it for this developer)'
          : `next attempt ${d.nextAttemptAt} (last: ${d.lastError ?? ''})`
  }`;
const attemptRow = (a: WebhookAttemptView) => `  ${a.at}  ${a.status ?? '---'}  ${String(a.durationMs).padStart(6)} ms  ${a.error ?? ''}`;
const print = (json: boolean, value: unknown, text: () => string) => process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : text());

export function webhooksCommand(program: Command): void {
  const webhooks = program.command('webhooks').description('tell other systems what happened: subscriptions, their delivery log, redelivery (admin key)');
  withApi(webhooks.command('create <url>').description('subscribe a URL; the signing secret is printed once (stdout)'))
    .requiredOption('--events <kinds>', `comma-separated: ${WEBHOOK_EVENT_TYPES.join(', ')}`)
    .requiredOption('--author <who>', 'recorded in the audit trail')
    .option('--description <text>', 'what it is for, e.g. "CRM lifecycle stage"')
    .option('--reason <why>', 'recorded in the audit trail')
    .action((url: string, options) =>
      admin(options, async (api) => {
        const created = await api.post<WebhookSubscription & { secret: string }>('/v1/webhooks', {
          url,
          events: String(options.events)
            .split(',')
            .map((e) => e.trim())
            .filter(Boolean),
          author: options.author,
          ...(options.description ? { description: options.description } : {}),
          ...(options.reason ? { reason: options.reason } : {}),
        });
        process.stderr.write(`created ${created.id} for ${created.url}; its signing secret (shown once):\n`);
        process.stdout.write(`${created.secret}\n`);
      }),
    );
  withApi(webhooks.command('list').description('every subscription, oldest first (never the secrets)'))
    .option('--json', 'print the raw JSON')
    .action((options) =>
      admin(options, async (api) => {
        const { webhooks: list } = await api.get<{ webhooks: WebhookSubscription[] }>('/v1/webhooks');
        print(options.json, list, () => (list.length === 0 ? 'no webhooks\n' : list.map((w) => `${subscriptionRow(w)}\n`).join('')));
      }),
    );
  withApi(webhooks.command('deliveries <id>').description('the delivery log, newest first; with --message, one message and each attempt'))
    .addOption(new Option('--status <status>', 'pending, delivered or failed').choices(DELIVERY_STATUSES))
    .option('--developer <id>', "only this developer's messages")
    .option('--message <messageId>', 'one message (msg_…) with its attempts and what the receiver answered')
    .option('--limit <n>', 'messages (1–500)', intInRange('--limit', 1, 500), 50)
    .option('--json', 'print the raw JSON')
    .action((id: string, options) =>
      admin(options, async (api) => {
        const base = `/v1/webhooks/${encodeURIComponent(id)}/deliveries`;
        if (options.message) {
          const one = await api.get<WebhookDeliveryView & { attemptLog: WebhookAttemptView[] }>(`${base}/${encodeURIComponent(options.message)}`);
          print(options.json, one, () => `${deliveryRow(one)}\n${one.attemptLog.map((a) => `${attemptRow(a)}\n`).join('')}${JSON.stringify(one.payload)}\n`);
          return;
        }
        const query = new URLSearchParams({
          limit: String(options.limit),
          ...(options.status ? { status: options.status } : {}),
          ...(options.developer ? { developer: options.developer } : {}),
        });
        const { deliveries } = await api.get<{ deliveries: WebhookDeliveryView[] }>(`${base}?${query}`);
        print(options.json, deliveries, () => (deliveries.length === 0 ? 'no messages\n' : deliveries.map((d) => `${deliveryRow(d)}\n`).join('')));
      }),
    );
  withApi(webhooks.command('redeliver <id> <messageId>').description('send a message again now (same webhook-id): delivered, given up, or waiting for its next retry')).action(
    (id: string, messageId: string, options) =>
      admin(options, async (api) => {
        const queued = await api.post<WebhookDeliveryView>(`/v1/webhooks/${encodeURIComponent(id)}/deliveries/${encodeURIComponent(messageId)}/redeliver`, {});
        process.stdout.write(`queued again: ${deliveryRow(queued)}\n`);
      }),
  );
  withApi(webhooks.command('rotate-secret <id>').description('a new signing secret (printed once); the old one signs too for the overlap'))
    .requiredOption('--author <who>', 'recorded in the audit trail')
    .option('--overlap <duration>', 'how long the old secret still signs', '24h')
    .option('--reason <why>', 'recorded in the audit trail')
    .action((id: string, options) =>
      admin(options, async (api) => {
        const rotated = await api.post<{ secret: string; previousSecretExpiresAt: string }>(`/v1/webhooks/${encodeURIComponent(id)}/rotate-secret`, {
          overlap: options.overlap,
          author: options.author,
          ...(options.reason ? { reason: options.reason } : {}),
        });
        process.stderr.write(`rotated ${id}; the old secret signs too until ${rotated.previousSecretExpiresAt}; the new secret (shown once):\n`);
        process.stdout.write(`${rotated.secret}\n`);
      }),
    );
  withApi(webhooks.command('delete <id>').description('unsubscribe: its queued messages and log go with it'))
    .requiredOption('--author <who>', 'recorded in the audit trail')
    .option('--reason <why>', 'recorded in the audit trail')
    .action((id: string, options) =>
      admin(options, async (api) => {
        const query = new URLSearchParams({ author: options.author, ...(options.reason ? { reason: options.reason } : {}) });
        await api.delete(`/v1/webhooks/${encodeURIComponent(id)}?${query}`);
        process.stdout.write(`deleted ${id}\n`);
      }),
    );
}
