import { condition, defineSignal, setHandler } from '@temporalio/workflow';

/** The baseline: a workflow that only counts signals, no machine, no activity. */
export const pingSignal = defineSignal<[string]>('ping');

export async function trivialSignalWorkflow(expected: number): Promise<number> {
  let received = 0;
  setHandler(pingSignal, () => {
    received++;
  });
  await condition(() => received >= expected);
  return received;
}
