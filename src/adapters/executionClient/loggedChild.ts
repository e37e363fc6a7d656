import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';

/** How much of the child's output is kept in memory for start errors. */
const TAIL_CHARS = 8_000;

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A child process whose stdout/stderr go to an appended log file, with the recent tail kept. */
export interface LoggedChild {
  pid: number;
  /** Settles once the child is gone and its last output is in the log. */
  exited: Promise<ChildExit>;
  /** Why the child can no longer become ready (spawn error, exit, fatal line), or null. */
  failure(): string | null;
  /** The last `n` lines the child printed since spawn. */
  tail(n: number): string;
  /** SIGTERM, then SIGKILL after `stopTimeoutMs`. Idempotent. */
  stop(): Promise<void>;
}

export interface LoggedChildOptions {
  cwd: string;
  logPath: string;
  stopTimeoutMs: number;
  /** A line the program prints when it failed but keeps running (so exit alone cannot tell). */
  fatalLine?: string;
  onLogError?: (e: Error) => void;
}

/** Spawns `process.execPath args`; the child is SIGKILLed if this process exits without stop(). */
export function spawnLogged(args: string[], opts: LoggedChildOptions): LoggedChild {
  const log = createWriteStream(opts.logPath, { flags: 'a' });
  // A full disk must not crash the parent through an unhandled 'error' event.
  log.on('error', (e) => opts.onLogError?.(e));
  log.write(`--- ${new Date().toISOString()} spawn ${process.execPath} ${args.join(' ')}\n`);
  // Its own process group: a Ctrl-C at the terminal signals the whole foreground group, and the
  // EL must outlive the node's orderly shutdown (actors stop first, then `stop()` ends the child).
  const child = spawn(process.execPath, args, { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });

  let tail = '';
  let fatal = false;
  const state: { spawnError: Error | null } = { spawnError: null };
  const onOutput = (chunk: Buffer): void => {
    log.write(chunk);
    tail = (tail + chunk.toString('utf8')).slice(-TAIL_CHARS);
    fatal ||= opts.fatalLine !== undefined && tail.includes(opts.fatalLine);
  };
  child.stdout.on('data', onOutput);
  child.stderr.on('data', onOutput);
  child.once('error', (e) => (state.spawnError = e));

  // An orphan would keep the ports and the database lock after a crash of the parent.
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.once('exit', killOnExit);
  // 'close' rather than 'exit': it comes after the stdio streams are drained into the log.
  const exited = new Promise<ChildExit>((resolve) => {
    child.once('close', (code, signal) => {
      process.removeListener('exit', killOnExit);
      log.end(`--- ${new Date().toISOString()} exited code=${code} signal=${signal}\n`);
      resolve({ code, signal });
    });
  });
  const gone = (): boolean => child.exitCode !== null || child.signalCode !== null || state.spawnError !== null;

  let stopping: Promise<void> | null = null;
  return {
    pid: child.pid ?? -1,
    exited,
    failure() {
      if (state.spawnError !== null) return `failed to spawn: ${state.spawnError.message}`;
      if (gone()) return `exited (code ${child.exitCode}, signal ${child.signalCode})`;
      return fatal ? `printed "${opts.fatalLine}"` : null;
    },
    tail: (n) => tail.trimEnd().split('\n').slice(-n).join('\n'),
    stop() {
      stopping ??= (async () => {
        if (gone()) return;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), opts.stopTimeoutMs);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}
