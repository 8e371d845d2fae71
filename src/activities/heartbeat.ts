import { Context } from '@temporalio/activity';

/**
 * Runs `work` while heartbeating every few seconds, so that a worker that dies in the middle of a
 * call (SIGKILL, a lost machine) is noticed at the activity's heartbeat timeout and the attempt
 * retried elsewhere, instead of at its start-to-close timeout minutes later. Outside an activity
 * (code calling the function directly) it only runs `work`.
 */
export async function whileHeartbeating<T>(work: () => Promise<T>, everyMs = 5_000): Promise<T> {
  let context: Context;
  try {
    context = Context.current();
  } catch {
    return work();
  }
  const timer = setInterval(() => context.heartbeat(), everyMs);
  try {
    context.heartbeat();
    return await work();
  } finally {
    clearInterval(timer);
  }
}
