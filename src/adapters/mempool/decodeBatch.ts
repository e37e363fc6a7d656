import type { Pool, PoolTasks } from '../../runtime/pool.js';

type DecodeTransactionInput = Parameters<PoolTasks['decodeTransaction']>[0];
type DecodeTransactionResult = ReturnType<PoolTasks['decodeTransaction']>;

/** At most this many transactions in one pool task, so one huge burst still spreads over the workers. */
const MAX_DECODES_PER_TASK = 128;

interface QueuedDecode {
  raw: Uint8Array;
  resolve: (result: DecodeTransactionResult) => void;
  reject: (err: unknown) => void;
}

/**
 * The pool as `eth_sendRawTransaction` sees it: every `decodeTransaction` made in one event-loop
 * turn (the calls of one JSON-RPC batch, or requests read together) goes to a worker as one
 * `decodeTransactions` task, flushed at `setImmediate` or at `MAX_DECODES_PER_TASK`. A pool hop
 * costs about as much as a native-recovery decode, so one hop per transaction halved ingest.
 * Each caller gets its own result; a pool failure rejects every call of that task, as it would
 * have rejected each alone. Other tasks pass straight through.
 */
export function batchingDecodes(pool: Pick<Pool, 'run'>): Pick<Pool, 'run'> {
  const queues = new Map<bigint, QueuedDecode[]>();
  let flushScheduled = false;

  const send = (chainId: bigint, batch: QueuedDecode[]) => {
    const raws = batch.map((q) => q.raw);
    pool
      .run(
        'decodeTransactions',
        { raws, chainId },
        raws.map((r) => r.buffer as ArrayBuffer),
      )
      .then(
        (results) => {
          for (const [i, q] of batch.entries()) q.resolve(results[i]!);
        },
        (err: unknown) => {
          for (const q of batch) q.reject(err);
        },
      );
  };
  const flushAll = () => {
    flushScheduled = false;
    for (const [chainId, queue] of queues) send(chainId, queue);
    queues.clear();
  };
  const decode = ({ raw, chainId }: DecodeTransactionInput) =>
    new Promise<DecodeTransactionResult>((resolve, reject) => {
      let queue = queues.get(chainId);
      if (!queue) queues.set(chainId, (queue = []));
      queue.push({ raw, resolve, reject });
      if (queue.length >= MAX_DECODES_PER_TASK) {
        queues.delete(chainId);
        send(chainId, queue);
      } else if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flushAll);
      }
    });
  const run: Pool['run'] = (task, input, transfer) =>
    task === 'decodeTransaction' ? (decode(input as DecodeTransactionInput) as never) : pool.run(task, input, transfer);
  return { run };
}
