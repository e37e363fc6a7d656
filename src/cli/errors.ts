import { CodedError } from '../runtime/errors.js';

/** Where a configuration value came from, in precedence order (flag wins). */
export type ConfigSource = 'flag' | 'env' | `file ${string}` | 'default';

/**
 * A configuration the node must not start with. One code: every case is an operator mistake that a
 * restart cannot fix, so `exitOnConfigError` turns it into exit code 2 (usage error) rather than a
 * crash the process manager would retry forever.
 */
export class ConfigError extends CodedError<'CONFIG_INVALID'> {
  constructor(message: string, meta: { key: string; source?: ConfigSource }) {
    super('CONFIG_INVALID', message, meta);
  }
}
