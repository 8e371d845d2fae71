export { onboardingJourney } from './onboarding-journey.ts';
export { requestRetention } from './request-retention.ts';
