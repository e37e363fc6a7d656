import type { Logger } from 'pino';
import type { ElectorMsg } from '../actors/messages.js';
import { JsonRpcError, JsonRpcErrorCode, type JsonRpcMethod, positionalParams } from '../adapters/http/jsonRpc.js';
import type { LeaseBackend } from '../adapters/lease/interface.js';
import type { ActorFault } from '../runtime/chaos.js';
import { CodedError } from '../runtime/errors.js';
import type { StatusBoard } from './status.js';

export interface AdminModules {
  status: StatusBoard;
  backend: LeaseBackend;
  /** Reaches the Elector actor; absent on a member, which does not campaign. */
  elector: { ask<R>(msg: ElectorMsg, timeoutMs: number): Promise<R> } | null;
  /** The operator's pause, kept for the Elector's next start (a restarted Elector stays paused). */
  onPaused(paused: boolean): void;
  logger: Logger;
  /** The runtime's crash injection (DESIGN §1); it refuses every call unless the node runs with `--chaos`. */
  chaos: ChaosControl;
}

/** What `baton_chaos` drives: the Supervisor's injection into a named actor, and the pool's worker kill. */
export interface ChaosControl {
  injectFault(actor: string, fault: ActorFault): void;
  killWorker(task?: string): void;
}

export interface AdminOptions {
  identity: string;
  leaseTtlMs: number;
  /** The admin token, forwarded to the transfer target's `/rpc` (one token per cluster). */
  adminToken: string;
}

/** How long a transfer target races for the lease, and how long the old leader waits to see who won. */
const TRANSFER_WINDOW_LEASES = 2;
/** A transfer target may trail the committed head by this many blocks (one may be committing while we ask). */
const TRANSFER_MAX_LAG_BLOCKS = 1n;
const PEER_TIMEOUT_MS = 2_000;
const ELECTOR_ASK_TIMEOUT_MS = 5_000;

/** A peer's `/status` fields that decide whether it can take over. */
interface PeerStatus {
  status: 'ok' | 'unhealthy';
  role: 'leader' | 'member';
  instanceId: string;
  paused: boolean;
  notCampaigning: string | null;
  elHead: { number: number | string } | null;
  problems: Record<string, string>;
}

/**
 * The admin JSON-RPC methods on `/rpc` (behind `--admin-token`): who leads, operator pause and
 * resume, and a leadership transfer to a named, healthy, caught-up standby (op-conductor's
 * `transferLeaderToServer(id, addr)`: the caller names the target and its API URL).
 */
export function adminMethods(opts: AdminOptions, modules: AdminModules): Record<string, JsonRpcMethod> {
  const { status, backend, elector, logger } = modules;

  const needElector = (method: string) => {
    if (!elector) throw new JsonRpcError(JsonRpcErrorCode.REFUSED, `${method}: this node is a member; members never campaign or build`);
    return elector;
  };

  async function leader() {
    try {
      const holder = await backend.current(AbortSignal.timeout(PEER_TIMEOUT_MS));
      return {
        backend: status.current.leaseBackend,
        holder: holder?.holder ?? null,
        epoch: holder?.epoch ?? null,
        apiUrl: holder?.meta?.apiUrl ?? null,
        self: opts.identity,
        isLeader: status.current.isLeader,
      };
    } catch (err) {
      throw new JsonRpcError(JsonRpcErrorCode.REFUSED, `the lease backend did not answer: ${(err as Error).message}`);
    }
  }

  async function setPaused(method: string, paused: boolean) {
    await needElector(method).ask({ type: 'setPaused', paused }, ELECTOR_ASK_TIMEOUT_MS);
    modules.onPaused(paused);
    logger.warn({ paused }, paused ? 'Paused by an operator: not campaigning, not building' : 'Resumed by an operator');
    return { paused };
  }

  /** Called by the leader on the target: race for the lease now. Refused when this node could not lead. */
  async function campaignNow() {
    const e = needElector('baton_campaignNow');
    const refusal = ownRefusal(status);
    if (refusal) throw new JsonRpcError(JsonRpcErrorCode.REFUSED, refusal);
    await e.ask({ type: 'campaignNow', windowMs: TRANSFER_WINDOW_LEASES * opts.leaseTtlMs }, ELECTOR_ASK_TIMEOUT_MS);
    return { campaigning: true };
  }

  async function transferLeadership(params: unknown) {
    const [instanceId, url] = positionalParams(params, ['instanceId', 'url']);
    if (typeof instanceId !== 'string' || instanceId === '')
      throw new JsonRpcError(JsonRpcErrorCode.INVALID_PARAMS, 'instanceId (the target node) is required');
    if (typeof url !== 'string' || !/^https?:\/\/[^/]+/.test(url))
      throw new JsonRpcError(JsonRpcErrorCode.INVALID_PARAMS, 'url (the target API URL, http://host:port) is required');
    const e = needElector('baton_transferLeadership');
    const s = status.current;
    if (!s.isLeader)
      throw new JsonRpcError(
        JsonRpcErrorCode.REFUSED,
        `this node is not the leader${s.holder ? `; ${s.holder} is${s.leaderApiUrl ? ` (${s.leaderApiUrl})` : ''}` : ''}`,
      );
    if (instanceId === opts.identity) throw new JsonRpcError(JsonRpcErrorCode.REFUSED, 'this node already leads');
    const base = url.replace(/\/+$/, '');
    const peer = await fetchPeerStatus(base);
    const refusal = peerRefusal(peer, instanceId, s.head?.number ?? 0n);
    if (refusal) throw new JsonRpcError(JsonRpcErrorCode.REFUSED, `${instanceId} cannot take over: ${refusal}`);
    await callPeer(base, 'baton_campaignNow');
    const from = s.epoch;
    logger.warn({ to: instanceId, url: base }, 'Transferring leadership');
    const windowMs = TRANSFER_WINDOW_LEASES * opts.leaseTtlMs;
    await e.ask({ type: 'stepDown', reason: `leadership transferred to ${instanceId}`, holdOffMs: windowMs }, ELECTOR_ASK_TIMEOUT_MS);
    const deadline = performance.now() + windowMs;
    for (;;) {
      const holder = await backend.current(AbortSignal.timeout(PEER_TIMEOUT_MS)).catch(() => null);
      if (holder && holder.holder !== opts.identity) {
        // Someone leads again: end our hold-off, so this node is a standby like any other (windowMs 0: no eager racing).
        await e.ask({ type: 'campaignNow', windowMs: 0 }, ELECTOR_ASK_TIMEOUT_MS);
        return { from: opts.identity, fromEpoch: from, to: holder.holder, epoch: holder.epoch, transferred: holder.holder === instanceId };
      }
      if (performance.now() > deadline) throw new JsonRpcError(JsonRpcErrorCode.REFUSED, `released the lease, but nobody took it within ${windowMs} ms`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  async function fetchPeerStatus(base: string): Promise<PeerStatus> {
    try {
      const res = await fetch(`${base}/status`, { signal: AbortSignal.timeout(PEER_TIMEOUT_MS) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      return (await res.json()) as PeerStatus;
    } catch (err) {
      throw new JsonRpcError(JsonRpcErrorCode.REFUSED, `cannot read ${base}/status: ${(err as Error).message}`);
    }
  }

  async function callPeer(base: string, method: string): Promise<unknown> {
    let body: { result?: unknown; error?: { message: string } };
    try {
      const res = await fetch(`${base}/rpc`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${opts.adminToken}` },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params: [] }),
        signal: AbortSignal.timeout(PEER_TIMEOUT_MS),
      });
      body = (await res.json()) as typeof body;
    } catch (err) {
      throw new JsonRpcError(JsonRpcErrorCode.REFUSED, `cannot reach ${base}/rpc: ${(err as Error).message}`);
    }
    if (body.error) throw new JsonRpcError(JsonRpcErrorCode.REFUSED, `the target refused: ${body.error.message}`);
    return body.result;
  }

  /** `baton_chaos({fault: throw|hang, actor} | {fault: killWorker, task?})`: for staging and the chaos harness. */
  function chaos(params: unknown) {
    const [fault, actor, task] = positionalParams(params, ['fault', 'actor', 'task']);
    try {
      if (fault === 'killWorker') {
        if (task !== undefined && typeof task !== 'string') throw new JsonRpcError(JsonRpcErrorCode.INVALID_PARAMS, 'task is a pool task name');
        modules.chaos.killWorker(task);
      } else if (fault === 'throw' || fault === 'hang') {
        if (typeof actor !== 'string') throw new JsonRpcError(JsonRpcErrorCode.INVALID_PARAMS, 'actor (the actor to crash) is required');
        modules.chaos.injectFault(actor, fault);
      } else {
        throw new JsonRpcError(JsonRpcErrorCode.INVALID_PARAMS, `fault is throw, hang or killWorker, got ${JSON.stringify(fault)}`);
      }
    } catch (err) {
      if (err instanceof CodedError && err.code === 'CHAOS_DISABLED') throw new JsonRpcError(JsonRpcErrorCode.REFUSED, err.message);
      if (err instanceof CodedError && err.code === 'UNKNOWN_ACTOR') throw new JsonRpcError(JsonRpcErrorCode.INVALID_PARAMS, err.message);
      throw err;
    }
    logger.warn({ fault, actor, task }, 'Chaos: fault injected by an operator');
    return { armed: true };
  }

  return {
    baton_chaos: { admin: true, handler: chaos },
    baton_leader: { admin: true, handler: leader },
    baton_pause: { admin: true, handler: () => setPaused('baton_pause', true) },
    baton_resume: { admin: true, handler: () => setPaused('baton_resume', false) },
    baton_transferLeadership: { admin: true, handler: transferLeadership },
    baton_campaignNow: { admin: true, handler: campaignNow },
  };
}

/** Why this node could not lead now, or null. */
function ownRefusal(status: StatusBoard): string | null {
  const s = status.current;
  if (s.paused) return 'it is paused';
  if (!status.healthy()) return `it is unhealthy: ${Object.values(s.problems).join('; ') || s.producer.reason}`;
  return s.notCampaigning;
}

/** Why the peer at the other end of a transfer could not lead now, or null. */
function peerRefusal(peer: PeerStatus, instanceId: string, committedHead: bigint): string | null {
  if (peer.instanceId !== instanceId) return `the node at that URL is ${peer.instanceId}`;
  if (peer.role !== 'leader') return 'it is a member (--role member)';
  if (peer.status !== 'ok') return `it is unhealthy: ${Object.values(peer.problems ?? {}).join('; ')}`;
  if (peer.paused) return 'it is paused';
  if (peer.notCampaigning) return peer.notCampaigning;
  const elHead = peer.elHead ? BigInt(peer.elHead.number) : null;
  if (elHead === null) return 'its execution client head is unknown';
  if (elHead + TRANSFER_MAX_LAG_BLOCKS < committedHead) return `its execution client is at block ${elHead}, behind the committed head ${committedHead}`;
  return null;
}
