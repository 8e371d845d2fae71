import ms from 'ms';

/**
 * A rule or policy duration (`90m`, `24h`, `3d`: the `ms` package's format) in milliseconds. Its
 * own module, free of zod, because the journey workflow uses it: every module the workflow imports
 * is evaluated again for each journey a worker loads into its cache.
 */
export function durationMs(value: string): number {
  return ms(value as ms.StringValue);
}
