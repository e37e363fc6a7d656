/**
 * The WebSocket block feed (DESIGN §6): the server side (`attachFeed` on the API server's app,
 * fed by the Publisher through `feedSink`) and the client members use to follow it.
 */
export { FeedClient, type FeedClientEvents, type FeedClientOptions, type FeedClientProblem } from './client.js';
export { defaultFeedOptions, type FeedOptions } from './options.js';
export { FeedCloseCode, type FeedEncoding, FeedErrorCode, type SubscribeRequest } from './protocol.js';
export { attachFeed, type FeedModules, FeedServer, feedSink } from './server.js';
