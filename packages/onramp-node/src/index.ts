export { OnrampRecorder, UNMATCHED_ENDPOINT, VERSION, type RecordedRequest, type RecorderOptions, type RecorderStats, type ShipError } from './recorder.ts';
export { keyFromHeaders, modeOfKey, type AttributionOptions } from './attribution.ts';
export { onrampExpress, type ExpressRequest } from './express.ts';
export { onrampFastify, type FastifyOptions, type FastifyRequestLike } from './fastify.ts';
export { withOnramp, type HttpOptions } from './http.ts';
