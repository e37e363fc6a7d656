import { createHash } from 'node:crypto';
import { mkdirSync, realpathSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CodedError } from '../../runtime/errors.js';

/** Why a data directory could not be locked. */
export const DataDirErrorCode = {
  /** Another live process holds the directory. */
  DATA_DIR_LOCKED: 'DATA_DIR_LOCKED',
  /** The directory cannot be created or resolved. */
  DATA_DIR_UNUSABLE: 'DATA_DIR_UNUSABLE',
} as const;
export type DataDirErrorCode = (typeof DataDirErrorCode)[keyof typeof DataDirErrorCode];

export class DataDirError extends CodedError<DataDirErrorCode> {}

/** Who holds a data directory, as the holder itself reports it to a process that asks. */
export interface DataDirHolder {
  pid: number;
  instanceId: string;
  /** ISO time the holder took the lock. */
  since: string;
}

export interface DataDirLock {
  readonly dir: string;
  /** Lets the next process take the directory; idempotent. */
  release(): Promise<void>;
}

/** How long a holder may take to say who it is before the asker gives up on the name. */
const HOLDER_ANSWER_MS = 1_000;

/**
 * Takes a data directory for this process, or throws DATA_DIR_LOCKED naming the holder's pid.
 *
 * The lock is a listening socket named after the directory's real path: the kernel lets only one
 * process listen on a name and frees it the moment that process dies, however it dies, so a
 * SIGKILLed node never leaves a stale lock and two nodes can never both believe they hold one.
 * On Linux the name lives in the abstract socket namespace (no file at all); elsewhere it is a
 * socket file in the temp directory, removed when found dead. The holder answers each connection
 * with who it is, which is how the refused process can name it.
 *
 * Taken before anything in the directory is touched: a second node on a held `--data-dir` must
 * not kill the first one's EL or open its database.
 */
export async function lockDataDir(dir: string, identity: { instanceId: string }): Promise<DataDirLock> {
  let realDir: string;
  try {
    mkdirSync(dir, { recursive: true });
    realDir = realpathSync(dir);
  } catch (err) {
    throw new DataDirError(DataDirErrorCode.DATA_DIR_UNUSABLE, `cannot create ${dir}: ${(err as Error).message}`, { dir });
  }
  const name = socketName(realDir);
  const holder: DataDirHolder = { pid: process.pid, instanceId: identity.instanceId, since: new Date().toISOString() };
  const server = createServer((socket) => socket.end(`${JSON.stringify(holder)}\n`));
  server.unref();
  try {
    await listenOn(server, name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') {
      throw new DataDirError(DataDirErrorCode.DATA_DIR_UNUSABLE, `cannot lock ${dir}: ${(err as Error).message}`, { dir });
    }
    const other = await askHolder(name);
    if (other === null && process.platform !== 'linux') {
      // A socket file whose owner died: nobody answers on it. Remove it and try once more.
      const { rm } = await import('node:fs/promises');
      await rm(name, { force: true });
      await listenOn(server, name);
    } else {
      const who = other ? `pid ${other.pid} (instance ${other.instanceId}, since ${other.since})` : 'another process (it did not say which)';
      throw new DataDirError(DataDirErrorCode.DATA_DIR_LOCKED, `${dir} is in use by ${who}; stop that node or give this one another --data-dir`, {
        dir,
        ...(other ? { holderPid: String(other.pid), holderInstanceId: other.instanceId } : {}),
      });
    }
  }
  let released: Promise<void> | null = null;
  return {
    dir: realDir,
    release: () => (released ??= new Promise<void>((resolve) => server.close(() => resolve()))),
  };
}

/** The socket name for a directory: a hash keeps it short (socket names are limited to ~100 bytes). */
function socketName(realDir: string): string {
  const digest = createHash('sha256').update(realDir).digest('hex').slice(0, 32);
  if (process.platform === 'linux') return `\0baton-data-dir-${digest}`;
  const dir = join(tmpdir(), 'baton-locks');
  mkdirSync(dir, { recursive: true });
  return join(dir, `${digest}.sock`);
}

function listenOn(server: Server, name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(name, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/** What the holder says about itself, or null if nobody answers on the name. */
function askHolder(name: string): Promise<DataDirHolder | null> {
  return new Promise((resolve) => {
    let text = '';
    const socket = connect(name);
    const done = (value: DataDirHolder | null) => {
      socket.destroy();
      resolve(value);
    };
    socket.setTimeout(HOLDER_ANSWER_MS, () => done(null));
    socket.on('data', (chunk) => (text += chunk.toString('utf8')));
    socket.on('end', () => {
      try {
        done(JSON.parse(text) as DataDirHolder);
      } catch {
        done(null);
      }
    });
    socket.on('error', () => done(null));
  });
}
