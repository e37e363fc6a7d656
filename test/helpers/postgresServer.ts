import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chown, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import postgres from 'postgres';
import { freePort } from './etcdCluster.js';

const run = promisify(execFile);

/** Where Debian/Ubuntu install the server binaries (`initdb`, `pg_ctl` are not on PATH there). */
async function binDir(): Promise<string> {
  const versions = (await readdir('/usr/lib/postgresql').catch(() => [])).sort((a, b) => Number(b) - Number(a));
  if (!versions[0]) throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql/*/bin (apt-get install postgresql)');
  return join('/usr/lib/postgresql', versions[0], 'bin');
}

/**
 * A PostgreSQL cluster of a test's own (`initdb` on a fresh directory, `pg_ctl` on a free port),
 * for tests that stop and restart the database — never the shared one. `fsync` and
 * `synchronous_commit` stay on, as in a production database: a fast shutdown or a crash then
 * loses nothing it acknowledged, so a restart that loses a commit is the code's fault. The
 * server refuses to run as root, so under root it runs as the `postgres` user.
 */
export class PostgresServer {
  private constructor(
    readonly port: number,
    private readonly dataDir: string,
    private readonly bin: string,
  ) {}

  static async start(): Promise<PostgresServer> {
    const bin = await binDir();
    const dataDir = await mkdtemp(join(tmpdir(), 'baton-pg-'));
    const server = new PostgresServer(await freePort(), dataDir, bin);
    if (process.getuid?.() === 0) {
      const { stdout } = await run('id', ['-u', 'postgres']);
      const { stdout: gid } = await run('id', ['-g', 'postgres']);
      await chown(dataDir, Number(stdout.trim()), Number(gid.trim()));
    }
    await server.as('initdb', ['-D', join(dataDir, 'data'), '-U', 'postgres', '--auth=trust', '-E', 'UTF8']);
    await server.restart();
    return server;
  }

  /** `postgres://…/<database>` on this server. */
  url(database = 'postgres'): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  /** A fresh database; `drop` removes it (while the server runs). */
  async createDatabase(prefix: string): Promise<{ name: string; url: string; drop(): Promise<void> }> {
    const name = `${prefix}_${randomBytes(4).toString('hex')}`;
    const admin = postgres(this.url(), { max: 1, onnotice: () => {} });
    await admin.unsafe(`CREATE DATABASE ${name}`);
    await admin.end();
    return {
      name,
      url: this.url(name),
      drop: async () => {
        const sql = postgres(this.url(), { max: 1, onnotice: () => {} });
        await sql.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await sql.end();
      },
    };
  }

  /** `pg_ctl stop -m fast`: clients are disconnected, committed work is on disk. */
  async stop(): Promise<void> {
    await this.as('pg_ctl', ['stop', '-D', join(this.dataDir, 'data'), '-m', 'fast', '-w']);
  }

  /** Start (again) on the same data directory and port; resolves once it accepts connections. */
  async restart(): Promise<void> {
    const options = [
      `-p ${this.port}`,
      `-k ${this.dataDir}`,
      "-c listen_addresses='127.0.0.1'",
      '-c fsync=on',
      '-c synchronous_commit=on',
      '-c max_connections=300',
    ];
    await this.as('pg_ctl', ['start', '-D', join(this.dataDir, 'data'), '-w', '-t', '60', '-l', join(this.dataDir, 'postgres.log'), '-o', options.join(' ')]);
  }

  /** Stop at once (`-m immediate`) and remove everything. */
  async destroy(): Promise<void> {
    await this.as('pg_ctl', ['stop', '-D', join(this.dataDir, 'data'), '-m', 'immediate', '-w']).catch(() => {});
    await rm(this.dataDir, { recursive: true, force: true });
  }

  private async as(program: string, args: string[]): Promise<void> {
    const path = join(this.bin, program);
    const [file, argv] = process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', path, ...args]] : [path, args];
    await run(file, argv, { cwd: this.dataDir });
  }
}
