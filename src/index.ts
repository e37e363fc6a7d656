/**
 * Baton's public API, for use without the rest of the node: the leader Elector with its five lease
 * backends, and the WebSocket block-feed client. `import { Elector, createLeaseBackend } from 'baton'`.
 */
export { Elector, ELECTOR_DEFAULTS, type ElectorEvents, type ElectorOptions, type LeadershipAcquired } from './adapters/lease/elector.js';
export * from './adapters/lease/index.js';
export { FeedClient, FeedCloseCode, type FeedClientEvents, type FeedClientOptions, type FeedClientProblem, type FeedEncoding } from './adapters/feed/index.js';
export type { ReceivedBlock } from './types/block.js';
