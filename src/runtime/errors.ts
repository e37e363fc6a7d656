/**
 * Errors that cross actor, thread and process boundaries.
 *
 * Every domain has one error class with a string `code` (lodestar style). Errors are plain data
 * through `toObject()`/`fromObject()`, so they survive msgpack envelopes and worker-thread hops
 * without losing their code or metadata.
 */
export interface CodedErrorObject {
  name: string;
  code: string;
  message: string;
  meta?: Record<string, unknown>;
}

export class CodedError<Code extends string = string> extends Error {
  constructor(
    readonly code: Code,
    message: string,
    readonly meta: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }

  toObject(): CodedErrorObject {
    return { name: this.name, code: this.code, message: this.message, meta: this.meta };
  }

  static fromObject(obj: CodedErrorObject): CodedError {
    const err = new CodedError(obj.code, obj.message, obj.meta ?? {});
    err.name = obj.name;
    return err;
  }

  static is<C extends string>(err: unknown, code: C): err is CodedError<C> {
    return err instanceof Error && (err as { code?: unknown }).code === code;
  }
}
