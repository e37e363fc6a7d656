/**
 * Value parsers for the option schema. Each turns one raw string (flag, env var or config-file
 * value) into a typed value or throws `InvalidValue` with the problem only; `config.ts` prefixes
 * the key, the (possibly redacted) value and the source, so every message has one shape.
 */
import { resolve as resolvePath } from 'node:path';
import type { ListenAddress } from '../adapters/http/options.js';

/** A rejected value. The message completes `<key>: "<value>" …`, e.g. `is not a duration`. */
export class InvalidValue extends Error {}

export type Parser<T> = (raw: string) => T;

/** Any string, for free-form values such as passwords. */
export const text: Parser<string> = (raw) => raw;

/**
 * A file or directory path, made absolute against the working directory at start: the node hands
 * paths to child processes with other working directories (the embedded EL runs in its data dir),
 * where a relative path would name another place. Empty is refused (an optional path is unset by
 * an empty value instead).
 */
export const path: Parser<string> = (raw) => {
  if (raw.trim() === '') throw new InvalidValue('is not a path');
  return resolvePath(raw);
};

/**
 * Identifiers that end up in Redis keys and log lines (instance id, key prefix, stream name):
 * no whitespace or quoting surprises.
 */
export const token: Parser<string> = (raw) => {
  if (!/^[A-Za-z0-9._:-]+$/.test(raw)) throw new InvalidValue('must be non-empty and use only letters, digits and . _ : -');
  return raw;
};

/** A safe integer within `bounds`: a bare number with no unit, so `1e3` or `10k` are refused rather than guessed. */
export function int(bounds: { min: number; max?: number }): Parser<number> {
  const max = bounds.max ?? Number.MAX_SAFE_INTEGER;
  return (raw) => {
    const n = /^-?\d+$/.test(raw) ? Number(raw) : Number.NaN;
    if (!Number.isSafeInteger(n)) throw new InvalidValue('is not an integer');
    if (n < bounds.min || n > max) throw new InvalidValue(`is out of range [${bounds.min}, ${max}]`);
    return n;
  };
}

/** Milliseconds per unit suffix; a bare integer is milliseconds. */
const DURATION_UNITS: Record<string, number> = { '': 1, ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** A duration in whole milliseconds: `500ms`, `2s`, `1m`, `1h` or a plain integer (ms). */
export function duration(bounds: { minMs: number }): Parser<number> {
  return (raw) => {
    const m = /^(\d+)(ms|s|m|h)?$/.exec(raw.trim());
    const ms = m ? Number(m[1]) * DURATION_UNITS[m[2] ?? '']! : Number.NaN;
    if (!Number.isSafeInteger(ms)) throw new InvalidValue('is not a duration (use e.g. 500ms, 2s, 1m, or an integer of milliseconds)');
    if (ms < bounds.minMs) throw new InvalidValue(`is shorter than ${bounds.minMs}ms`);
    return ms;
  };
}

const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);

export const bool: Parser<boolean> = (raw) => {
  const v = raw.trim().toLowerCase();
  if (TRUE.has(v)) return true;
  if (FALSE.has(v)) return false;
  throw new InvalidValue('is not a boolean (use true/false, 1/0, yes/no, on/off)');
};

export function oneOf<const C extends readonly string[]>(choices: C): Parser<C[number]> {
  return (raw) => {
    if (!choices.includes(raw)) throw new InvalidValue(`is not one of ${choices.join('|')}`);
    return raw as C[number];
  };
}

/** An absolute URL with one of `protocols` (without the colon), returned as given. */
export function url(protocols: readonly string[]): Parser<string> {
  return (raw) => {
    let u: URL;
    try {
      u = new URL(raw);
    } catch {
      throw new InvalidValue('is not a URL');
    }
    if (!protocols.includes(u.protocol.slice(0, -1))) throw new InvalidValue(`must use ${protocols.map((p) => `${p}://`).join(' or ')}`);
    return raw;
  };
}

/**
 * `host:port`, `:port` (all interfaces, host "") or `[v6]:port`. Port 0 asks the OS for a free
 * port; the server reports the one it got.
 */
export const listenAddress: Parser<ListenAddress> = (raw) => {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s]*)):(\d{1,5})$/.exec(raw.trim());
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port > 65_535) throw new InvalidValue('is not an address (use host:port or :port, port 0-65535)');
  return { host: m[1] ?? m[2] ?? '', port };
};

/** `host:port` with a host and a non-zero port, e.g. a Redis Sentinel. */
export const hostPort: Parser<string> = (raw) => {
  const addr = listenAddress(raw);
  if (addr.host === '' || addr.port === 0) throw new InvalidValue('is not host:port');
  return raw.trim();
};

/**
 * A Redis address as ioredis takes it: `redis://` or `rediss://` URLs pass through, `host:port`
 * becomes `redis://host:port`, so the Redis adapter handles one form.
 */
export const redisAddress: Parser<string> = (raw) => {
  if (/^rediss?:\/\//.test(raw)) return url(['redis', 'rediss'])(raw);
  const addr = listenAddress(raw);
  if (addr.host === '' || addr.port === 0) throw new InvalidValue('is not a Redis address (use host:port, redis:// or rediss://)');
  return `redis://${raw.trim()}`;
};

/** Exactly `length` bytes of hex, with or without `0x` (JWT secrets as Geth writes them). */
export function hexBytes(length: number): Parser<Uint8Array> {
  return (raw) => {
    const hex = raw.trim().replace(/^0x/i, '');
    if (hex.length !== length * 2 || !/^[0-9a-fA-F]*$/.test(hex)) throw new InvalidValue(`is not ${length} bytes of hex`);
    return Uint8Array.from(Buffer.from(hex, 'hex'));
  };
}

/** A 20-byte 0x address, returned lower-case so comparisons need no normalising. */
export const ethAddress: Parser<string> = (raw) => {
  if (!/^0x[0-9a-fA-F]{40}$/.test(raw)) throw new InvalidValue('is not a 20-byte 0x-prefixed hex address');
  return raw.toLowerCase();
};

/** Comma-separated items (blanks dropped), each through `item`; a config file may give an array. */
export function list<T>(item: Parser<T>): Parser<T[]> {
  return (raw) => {
    const items = raw
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    if (items.length === 0) throw new InvalidValue('is an empty list');
    return items.map((s, i) => {
      try {
        return item(s);
      } catch (err) {
        if (err instanceof InvalidValue) throw new InvalidValue(`item ${i + 1} (${JSON.stringify(s)}) ${err.message}`);
        throw err;
      }
    });
  };
}
