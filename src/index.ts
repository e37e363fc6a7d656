/**
 * Baton's public API, for use without the rest of the node: the leader Elector with its five lease
 * backends, and the WebSocket block-feed client. `import { Elector, createLeaseBackend } from 'baton'`.
 */

export { FeedClient, type FeedClientEvents, type FeedClientOptions, type FeedClientProblem, FeedCloseCode, type FeedEncoding } from './adapters/feed/index.js';
export { ELECTOR_DEFAULTS, Elector, type ElectorEvents, type ElectorOptions, type LeadershipAcquired } from './adapters/lease/elector.js';
export * from './adapters/lease/index.js';
export type { ReceivedBlock } from './types/block.js';
