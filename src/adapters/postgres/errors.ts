import { CodedError } from '../../runtime/errors.js';

/** Why the block store refused or could not do a request. */
export const StoreErrorCode = {
  /** The fence row holds a higher epoch than the caller's: a newer leader has committed. */
  STALE_EPOCH: 'STALE_EPOCH',
  /** A different block is already committed at this height (or this hash at another height). */
  HEIGHT_TAKEN: 'HEIGHT_TAKEN',
  /** The block does not extend the committed chain: its parent is not the hash stored at n−1. */
  PARENT_MISMATCH: 'PARENT_MISMATCH',
  /** PostgreSQL could not be reached or refused the connection; the outcome of a commit is unknown. */
  DB_UNREACHABLE: 'DB_UNREACHABLE',
} as const;
export type StoreErrorCode = (typeof StoreErrorCode)[keyof typeof StoreErrorCode];

/**
 * The block store's only error class. Metadata values are strings (bigints stringified) so the
 * error survives JSON logs and msgpack envelopes unchanged.
 */
export class StoreError extends CodedError<StoreErrorCode> {
  constructor(code: StoreErrorCode, message: string, meta: Record<string, string> = {}) {
    super(code, message, meta);
  }
}

/**
 * Error codes that mean "no usable connection": socket errors, postgres.js connection states,
 * and SQLSTATE classes 08 (connection exception), 28 (authorization), 3D000 (no such database)
 * and 57P0x (server shutting down). All are configuration or availability problems.
 */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'EPIPE',
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_DESTROYED',
  'CONNECTION_ENDED',
  '3D000',
]);

export function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return false;
  return CONNECTION_CODES.has(code) || code.startsWith('08') || code.startsWith('28') || code.startsWith('57P0');
}

/** The URL with its password masked, for error messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<unparsable url>';
  }
}

/** What a connection failure means to an operator: the server is not there, refused us, or lacks the database. */
function connectionProblem(code: string | undefined, url: string): string {
  if (code === '3D000') return `has no database "${decodeURIComponent(new URL(url).pathname.slice(1)) || 'postgres'}" (create it, or fix the name in the URL)`;
  if (code?.startsWith('28')) return 'refused the credentials (authentication failed: check the user and password in the URL)';
  if (code?.startsWith('57P0')) return 'is shutting down or starting up';
  return 'is unreachable';
}

/** A one-line DB_UNREACHABLE error that says what is wrong and which flag to fix. */
export function unreachable(url: string, cause: unknown): StoreError {
  const code = (cause as { code?: unknown } | null)?.code;
  const detail = (cause instanceof Error ? cause.message : String(cause)).replace(/\s+/g, ' ').trim();
  const codeText = typeof code === 'string' ? code : undefined;
  return new StoreError(
    StoreErrorCode.DB_UNREACHABLE,
    `PostgreSQL at ${redactUrl(url)} ${connectionProblem(codeText, url)} (check --postgres-url): ${detail}`,
    { url: redactUrl(url), cause: codeText ?? 'unknown' },
  );
}
