import type { AlertCondition } from './alert-condition.ts';
import type { AlertKind } from '../rules/alerts-schema.ts';

const TITLES: Record<AlertKind, string> = {
  conversionBelowBand: 'Conversion in the warning band',
  ttfacTail: 'Time to first call: the tail is rising',
  endpointErrorSpike: 'First-session errors spiking on one endpoint',
  sourceSilent: 'An ingest source went silent',
};

/** The dashboard view of a condition: `<publicUrl>/dashboard?from=…&to=…#funnelPanel`. */
export function dashboardLink(publicUrl: string, view: AlertCondition['view']): string {
  const query = new URLSearchParams(view.query).toString();
  return `${publicUrl.replace(/\/+$/, '')}/dashboard${query ? `?${query}` : ''}#${view.panel}`;
}

/** The Slack message (mrkdwn) of a fired alert: its title, what was measured, and the link to the view. */
export function alertMessage(alert: { kind: string; detail: Record<string, unknown>; link: string }): string {
  const title = TITLES[alert.kind as AlertKind] ?? alert.kind;
  return `:rotating_light: *${title}*\n${escapeMrkdwn(String(alert.detail.summary ?? ''))}\n<${alert.link}|Open the dashboard view>`;
}

/** Slack's three control characters, escaped as its formatting guide asks (an endpoint may contain them). */
const escapeMrkdwn = (text: string) => text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
