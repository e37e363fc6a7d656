import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** TCP state of a listening socket in `/proc/net/tcp*`. */
const TCP_LISTEN = '0A';

/**
 * Who listens on a TCP port, for the "cannot listen" start-up error: `pid 1234 (node dist/cli/main.js …)`,
 * or null where it cannot be told (not Linux, or the holder belongs to another user). Reads
 * `/proc/net/tcp{,6}` for the socket's inode, then the processes' fd tables for that inode; only
 * called once, on a failed start, so the scan's cost does not matter.
 */
export function describePortHolder(port: number): string | null {
  if (process.platform !== 'linux') return null;
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      const local = cols[1];
      if (!local || cols[3] !== TCP_LISTEN) continue;
      if (Number.parseInt(local.slice(local.lastIndexOf(':') + 1), 16) === port) inodes.add(cols[9]!);
    }
  }
  if (inodes.size === 0) return null;
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let target = '';
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      if (inode && inodes.has(inode)) return `pid ${pid} (${commandLine(pid)})`;
    }
  }
  return null;
}

function commandLine(pid: string): string {
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    const shown = args.join(' ');
    return shown.length > 120 ? `${shown.slice(0, 117)}...` : shown;
  } catch {
    return 'unknown command';
  }
}
