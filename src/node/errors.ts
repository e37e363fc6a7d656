import { CodedError } from '../runtime/errors.js';

/**
 * A node could not start because something a flag points at is wrong or unreachable (the EL, the
 * JWT secret, Redis, PostgreSQL, a listen address). The message names that flag; the CLI prints it
 * on one line and exits with code 2, like a malformed flag.
 */
export class StartupError extends CodedError<'STARTUP_FAILED'> {
  constructor(
    readonly flag: string,
    reason: string,
  ) {
    super('STARTUP_FAILED', `${flag}: ${reason}`, { flag });
  }
}
