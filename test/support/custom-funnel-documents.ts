/**
 * A funnel of the shape a growth team might write: the shipped funnel's first stages, then a stage
 * of its own. The shipped rules and policy name stages it lacks (credential_provisioned,
 * active_integration, production_deployment).
 */
export const CUSTOM_FUNNEL = `stages:
  - id: account_created
    evidence:
      - event: developer.signed_up
  - id: first_api_call
    role: first_call
    evidence:
      - request: { status: 2xx }
  - id: paying
    role: production
    evidence:
      - event: payment.succeeded
`;

/** Rules that fit CUSTOM_FUNNEL (and the shipped templates). */
export const CUSTOM_RULES = `rules:
  - id: first-call-help
    when: { stage: account_created, after: 24h }
    action: { send: first-call-help }
  - id: pay-up
    when: { stage: first_api_call, after: 7d }
    action: { escalate: { reason: no payment a week after the first call } }
`;

/** An escalation policy that fits CUSTOM_FUNNEL. */
export const CUSTOM_POLICY = `criteria:
  stalls:
    - { id: no-first-call, since: account_created, until: first_api_call, after: 7d }
    - { id: not-paying, since: first_api_call, until: paying, after: 30d }
`;
