import { pino } from 'pino';
import { installTemporalRuntime } from '../../src/temporal/install-runtime.ts';

// The SDK's own log lines (a worker's every state change, at INFO, for each worker a test starts)
// drown the report: warnings and up, on stderr, as `onramp start` logs them.
installTemporalRuntime(pino({ level: process.env.TEST_TEMPORAL_LOG ?? 'warn' }, pino.destination(2)));
