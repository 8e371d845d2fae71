/**
 * SDK vs raw HTTP by user agent (funnel metric 3, docs/concepts/funnel.md). Official SDKs identify themselves; anything
 * else (curl, language HTTP libraries, no user agent) counts as raw HTTP.
 */
export const DEFAULT_SDK_PATTERNS: readonly RegExp[] = [
  /\bsdk\b/i,
  /[-_/]sdk[-_/]/i,
  /\bbindings\b/i,
  /^[\w.-]+-(node|python|ruby|go|java|php|dotnet|csharp|rust|swift|kotlin)\/\d/i,
  /\b(stainless|speakeasy|fern|openapi-generator)\b/i,
];

export function isSdkUserAgent(userAgent: string | undefined, patterns: readonly RegExp[] = DEFAULT_SDK_PATTERNS): boolean {
  if (!userAgent) return false;
  return patterns.some((pattern) => pattern.test(userAgent));
}

/** The shipped patterns plus the ones the operator added (ONRAMP_SDK_USER_AGENTS). */
export function sdkClassifier(extra: readonly RegExp[] = []): (userAgent: string | undefined) => boolean {
  const patterns = [...DEFAULT_SDK_PATTERNS, ...extra];
  return (userAgent) => isSdkUserAgent(userAgent, patterns);
}
