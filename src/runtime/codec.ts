import { Packr } from 'msgpackr';

/**
 * The one msgpack codec for everything that crosses an actor, thread or storage boundary.
 *
 * - `int64AsType: 'bigint'` + `useBigIntExtension`: bigints (block numbers, epochs, wei) come back
 *   as bigints at any size, while plain numbers stay numbers.
 * - `useRecords: false`: the bytes are plain msgpack, readable by any msgpack decoder (feed
 *   subscribers in other languages read the same bytes the Publisher stored).
 * - Binary (Uint8Array/Buffer) round-trips as binary.
 */
const packr = new Packr({ useRecords: false, int64AsType: 'bigint', useBigIntExtension: true });

export function encode(value: unknown): Uint8Array {
  return packr.pack(value);
}

export function decode<T = unknown>(bytes: Uint8Array): T {
  return packr.unpack(bytes) as T;
}

/**
 * How a supervisor copies messages into mailboxes. msgpack (the default) is what DESIGN §1 asks:
 * bytes that could cross a thread or a process unchanged. `structuredClone` is the in-process copy
 * the runtime bench measures msgpack against.
 */
export interface MessageCodec {
  readonly name: string;
  encode(msg: unknown): unknown;
  decode<T>(encoded: unknown): T;
}

export const msgpackCodec: MessageCodec = { name: 'msgpack', encode, decode: (encoded) => decode(encoded as Uint8Array) };

export const structuredCloneCodec: MessageCodec = {
  name: 'structuredClone',
  encode: (msg) => structuredClone(msg),
  decode: <T>(encoded: unknown) => structuredClone(encoded) as T,
};
