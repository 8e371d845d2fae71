/**
 * The first-session error diagnoses, by status class (docs/concepts/funnel.md#first-session-error-diagnoses):
 * the one home of these texts, read by the errors metric (`GET /v1/metrics/errors`) and by a
 * handoff case's diagnosis lines. The model diagnoses 401, 400 and 429; it says nothing of 5xx
 * (the API failed, not the developer): `null`.
 */
export const ERROR_CLASSES = ['401', '400', '429', '5xx'] as const;
export type ErrorClass = (typeof ERROR_CLASSES)[number];

export const DIAGNOSIS: Readonly<Record<ErrorClass, string | null>> = {
  '401': 'authentication setup is confusing: credentials used wrongly (wrong key, wrong mode, or a missing Authorization header)',
  '400': 'required parameters are not clearly documented: missing or malformed',
  '429': 'rate limits hit in onboarding, not just production (retries without backoff?)',
  '5xx': null,
};

/** The diagnosis of one response status (`undefined` when the model has none for it). */
export function diagnosisOf(status: number): string | undefined {
  const errorClass: ErrorClass | undefined = status >= 500 && status <= 599 ? '5xx' : ERROR_CLASSES.find((c) => c === String(status));
  return errorClass ? (DIAGNOSIS[errorClass] ?? undefined) : undefined;
}
