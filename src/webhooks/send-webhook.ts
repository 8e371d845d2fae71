import http from 'node:http';
import https from 'node:https';
import { RequestFilteringHttpAgent, RequestFilteringHttpsAgent } from 'request-filtering-agent';

export interface WebhookTransportOptions {
  /**
   * Addresses and CIDRs a receiver may have although private or loopback
   * (ONRAMP_WEBHOOK_ALLOWED_ADDRESSES). Everything else non-public is refused at connect time,
   * after DNS, so a name that resolves to an internal address is refused too (SSRF).
   */
  allowedAddresses?: readonly string[];
  /** How long an attempt may take before it counts as failed. */
  timeoutMs?: number;
}

export interface AttemptResult {
  /** The receiver's HTTP status; absent when none came. */
  status?: number;
  error?: string;
  /** The start of the answer (1 KiB at most), kept in the delivery log. */
  response?: string;
  durationMs: number;
}

const RESPONSE_KEPT = 1024;

/**
 * POSTs webhooks through agents that refuse private, loopback and link-local addresses. Redirects
 * are not followed (a 3xx is a failed attempt): a receiver cannot bounce a message inside.
 */
export class WebhookTransport {
  private readonly agents: { http: http.Agent; https: https.Agent };
  private readonly timeoutMs: number;

  constructor(options: WebhookTransportOptions = {}) {
    const filter = { allowIPAddressList: [...(options.allowedAddresses ?? [])], keepAlive: true, maxSockets: 16 };
    this.agents = { http: new RequestFilteringHttpAgent(filter), https: new RequestFilteringHttpsAgent(filter) };
    this.timeoutMs = options.timeoutMs ?? 15_000;
  }

  post(url: string, headers: Record<string, string>, body: string): Promise<AttemptResult> {
    const started = performance.now();
    const done = (result: Omit<AttemptResult, 'durationMs'>): AttemptResult => ({ ...result, durationMs: Math.round(performance.now() - started) });
    return new Promise((resolve) => {
      const target = new URL(url);
      const client = target.protocol === 'https:' ? https : http;
      const request = client.request(
        target,
        {
          method: 'POST',
          agent: target.protocol === 'https:' ? this.agents.https : this.agents.http,
          headers: { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'user-agent': 'Onramp-Webhooks/1' },
          timeout: this.timeoutMs,
        },
        (response) => {
          const chunks: Buffer[] = [];
          let kept = 0;
          response.on('data', (chunk: Buffer) => {
            if (kept < RESPONSE_KEPT) chunks.push(chunk);
            kept += chunk.length;
          });
          response.on('end', () => {
            const status = response.statusCode ?? 0;
            const text = Buffer.concat(chunks).toString('utf8').slice(0, RESPONSE_KEPT);
            resolve(done({ status, response: text, ...(status >= 200 && status < 300 ? {} : { error: `HTTP ${status}` }) }));
          });
          response.on('error', (error) => resolve(done({ status: response.statusCode ?? 0, error: error.message })));
        },
      );
      request.on('timeout', () => request.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      request.on('error', (error) => resolve(done({ error: error.message })));
      request.end(body);
    });
  }

  close(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }
}
