export { onboardingJourney } from './onboarding-journey.ts';
