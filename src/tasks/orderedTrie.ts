import { keccak256 } from './keccak256.js';

/**
 * Root of an ordered Merkle-Patricia trie (key `i` = RLP(i), value = the i-th item): the
 * transactions, withdrawals and receipts roots of a block header.
 *
 * Built like Geth's StackTrie (`trie/stacktrie.go`) instead of through @ethereumjs/mpt. The keys
 * are all known and inserted in ascending key order, so once an insert moves past a subtree that
 * subtree can never change again: it is hashed at once and only its reference (hash, or its RLP
 * if shorter than 32 bytes) is kept. Nothing is written to a node store, no node is ever read
 * back, and at most one path of open nodes is alive. The MPT instead reads the path from its
 * node store for every insert, then re-encodes, re-hashes and writes back every node on it.
 *
 * Every value must be non-empty: in an MPT an empty value is a deletion (Geth's StackTrie refuses
 * it too), and no transaction, withdrawal or receipt encodes to zero bytes.
 */
export function orderedTrieRoot(values: readonly Uint8Array[]): Uint8Array {
  if (values.some((v) => v.length === 0)) throw new RangeError('ordered trie: an empty value would be a deletion');
  const trie = new StackTrie();
  // Ascending key order is not index order: RLP(1..127) = 0x01..0x7f sorts before RLP(0) = 0x80,
  // which sorts before RLP(128..) = 0x81.., 0x82.. (Geth's `DeriveSha` inserts in this order).
  for (let i = 1; i < values.length && i <= 0x7f; i++) trie.insert(indexKey(i), values[i]!);
  if (values.length > 0) trie.insert(indexKey(0), values[0]!);
  for (let i = 0x80; i < values.length; i++) trie.insert(indexKey(i), values[i]!);
  return trie.root();
}

/** The nibbles of RLP(i), written directly: i itself below 0x80, 0x80 for 0, else 0x80 + length ++ i big-endian. */
function indexKey(i: number): Uint8Array {
  if (i > 0 && i < 0x80) return Uint8Array.of(i >> 4, i & 0x0f);
  const bytes: number[] = [];
  for (let v = i; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  const key = new Uint8Array(2 + 2 * bytes.length);
  key[0] = 8;
  key[1] = bytes.length;
  bytes.forEach((b, j) => {
    key[2 + 2 * j] = b >> 4;
    key[3 + 2 * j] = b & 0x0f;
  });
  return key;
}

const EMPTY = 0;
const LEAF = 1;
const EXTENSION = 2;
const BRANCH = 3;
/** A finished subtree: only its reference (`ref`) is left. */
const HASHED = 4;
type Kind = typeof EMPTY | typeof LEAF | typeof EXTENSION | typeof BRANCH | typeof HASHED;

interface Node {
  kind: Kind;
  /** Nibbles of the key segment covered by a leaf or an extension. */
  path: Uint8Array;
  /** A leaf's value. */
  value: Uint8Array;
  /** A branch's 16 children, or an extension's single child at index 0. */
  children: Array<Node | null>;
  /** What a HASHED node leaves for its parent: keccak(RLP), or the RLP itself when under 32 bytes. */
  ref: Uint8Array;
}

const NO_BYTES: Uint8Array = new Uint8Array(0);
/** RLP of the empty string: an absent branch child and a branch's (always empty) value slot. */
const RLP_EMPTY: Uint8Array = Uint8Array.of(0x80);

const node = (kind: Kind, path = NO_BYTES, value = NO_BYTES, children: Array<Node | null> = []): Node => ({
  kind,
  path,
  value,
  children,
  ref: NO_BYTES,
});
const branch = (): Node => node(BRANCH, NO_BYTES, NO_BYTES, new Array<Node | null>(16).fill(null));

/** A trie that accepts keys only in strictly ascending order and hashes subtrees as they close. */
class StackTrie {
  private readonly top: Node = node(EMPTY);

  /** `key` in nibbles, above every key inserted before. */
  insert(key: Uint8Array, value: Uint8Array): void {
    insert(this.top, key, 0, value);
  }

  /** The root hash. Unlike an inner node the root is always hashed, even when its RLP is < 32 bytes. */
  root(): Uint8Array {
    return keccak256(encodeNode(this.top));
  }
}

/** Inserts `key` from nibble `pos` on below `n` (an offset rather than a subarray per level: this is the hot path). */
function insert(n: Node, key: Uint8Array, pos: number, value: Uint8Array): void {
  switch (n.kind) {
    case EMPTY:
      n.kind = LEAF;
      n.path = key.subarray(pos);
      n.value = value;
      return;
    case BRANCH: {
      const index = key[pos]!;
      // Keys ascend, so the nearest older sibling is complete from now on: seal it.
      for (let i = index - 1; i >= 0; i--) {
        const sibling = n.children[i];
        if (sibling) {
          seal(sibling);
          break;
        }
      }
      const child = n.children[index];
      if (child) insert(child, key, pos + 1, value);
      else n.children[index] = node(LEAF, key.subarray(pos + 1), value);
      return;
    }
    case EXTENSION: {
      const diff = commonPrefix(n.path, key, pos);
      if (diff === n.path.length) {
        insert(n.children[0]!, key, pos + diff, value);
        return;
      }
      // The new key leaves the extension at nibble `diff`: everything under the old path is done.
      const old = diff < n.path.length - 1 ? node(EXTENSION, n.path.subarray(diff + 1), NO_BYTES, [n.children[0]!]) : n.children[0]!;
      seal(old);
      const fork = splitAt(n, diff);
      fork.children[n.path[diff]!] = old;
      fork.children[key[pos + diff]!] = node(LEAF, key.subarray(pos + diff + 1), value);
      n.path = n.path.subarray(0, diff);
      return;
    }
    case LEAF: {
      const diff = commonPrefix(n.path, key, pos);
      if (diff >= n.path.length) throw new Error('ordered trie: keys must be strictly ascending and prefix-free');
      const old = node(LEAF, n.path.subarray(diff + 1), n.value);
      seal(old);
      const fork = splitAt(n, diff);
      fork.children[n.path[diff]!] = old;
      fork.children[key[pos + diff]!] = node(LEAF, key.subarray(pos + diff + 1), value);
      n.path = n.path.subarray(0, diff);
      n.value = NO_BYTES;
      return;
    }
    case HASHED:
      throw new Error('ordered trie: keys must be strictly ascending');
  }
}

/**
 * Turns `n` into the branch where two keys part at nibble `diff`: `n` itself when they part at
 * once, else `n` becomes an extension over the shared nibbles with a fresh branch below it.
 */
function splitAt(n: Node, diff: number): Node {
  if (diff === 0) {
    n.kind = BRANCH;
    n.children = branch().children;
    return n;
  }
  const fork = branch();
  n.kind = EXTENSION;
  n.children = [fork];
  return fork;
}

/** Seals a finished subtree into its reference and drops everything below it; idempotent. */
function seal(n: Node): Uint8Array {
  if (n.kind !== HASHED) {
    const encoded = encodeNode(n);
    n.ref = encoded.length < 32 ? encoded.slice() : keccak256(encoded);
    n.kind = HASHED;
    n.path = NO_BYTES;
    n.value = NO_BYTES;
    n.children = [];
  }
  return n.ref;
}

/*
 * Nodes are RLP-encoded here rather than with @ethereumjs/rlp: an embedded child must be spliced
 * into its parent as the RLP it already is, which that encoder cannot do, and its per-item copies
 * and hex-string lengths were half of this builder's time on a 1,400-transaction block. Every node
 * is written into one scratch buffer, reused: a node's RLP is hashed (or copied, when embedded)
 * before the next node is written, because a node seals its children before writing itself.
 */
let scratch = new Uint8Array(4096);

/** RLP of a node, in `scratch`, valid until the next call; its children are sealed first. */
function encodeNode(n: Node): Uint8Array {
  switch (n.kind) {
    case EMPTY:
      return RLP_EMPTY;
    case LEAF: {
      const [out, at] = listBuffer(pathSize(n.path) + stringSize(n.value));
      writeString(out, writePath(out, at, n.path, true), n.value);
      return out;
    }
    case EXTENSION: {
      const ref = seal(n.children[0]!);
      const [out, at] = listBuffer(pathSize(n.path) + refSize(ref));
      writeRef(out, writePath(out, at, n.path, false), ref);
      return out;
    }
    case BRANCH: {
      let payload = 1; // the value slot, always empty: no key is a prefix of another
      for (const child of n.children) payload += child ? refSize(seal(child)) : 1;
      const [out, start] = listBuffer(payload);
      let at = start;
      for (const child of n.children) at = child ? writeRef(out, at, child.ref) : writeEmpty(out, at);
      writeEmpty(out, at);
      return out;
    }
    case HASHED:
      throw new Error('ordered trie: a sealed node keeps only its reference');
  }
}

/** How a child sits in its parent: a 32-byte hash as an RLP string, an embedded node (< 32 bytes) as is. */
const refSize = (ref: Uint8Array): number => (ref.length === 32 ? 33 : ref.length);

function writeRef(out: Uint8Array, at: number, ref: Uint8Array): number {
  if (ref.length === 32) out[at++] = 0x80 + 32;
  out.set(ref, at);
  return at + ref.length;
}

function writeEmpty(out: Uint8Array, at: number): number {
  out[at] = 0x80;
  return at + 1;
}

/** A single byte below 0x80 is its own RLP; anything else gets a length header. */
const stringSize = (bytes: Uint8Array): number => (bytes.length === 1 && bytes[0]! < 0x80 ? 1 : headerLength(bytes.length) + bytes.length);

function writeString(out: Uint8Array, at: number, bytes: Uint8Array): number {
  if (bytes.length === 1 && bytes[0]! < 0x80) {
    out[at] = bytes[0]!;
    return at + 1;
  }
  at = writeHeader(out, at, bytes.length, 0x80);
  out.set(bytes, at);
  return at + bytes.length;
}

/**
 * A key segment in hex-prefix encoding (Yellow Paper appendix C), as an RLP string: a flag nibble
 * (leaf or extension, odd length), then the nibbles packed. Its first byte is below 0x40, so a
 * one-byte segment is its own RLP.
 */
function pathSize(nibbles: Uint8Array): number {
  const bytes = (nibbles.length >> 1) + 1;
  return bytes === 1 ? 1 : headerLength(bytes) + bytes;
}

function writePath(out: Uint8Array, at: number, nibbles: Uint8Array, leaf: boolean): number {
  const bytes = (nibbles.length >> 1) + 1;
  if (bytes > 1) at = writeHeader(out, at, bytes, 0x80);
  const odd = nibbles.length & 1;
  let i = 0;
  out[at++] = (((leaf ? 2 : 0) + odd) << 4) | (odd ? nibbles[i++]! : 0);
  for (; i < nibbles.length; i += 2) out[at++] = (nibbles[i]! << 4) | nibbles[i + 1]!;
  return at;
}

/** Room in `scratch` for an RLP list of `payload` bytes, its header written; returns it and where the payload starts. */
function listBuffer(payload: number): [Uint8Array, number] {
  const size = headerLength(payload) + payload;
  if (scratch.length < size) scratch = new Uint8Array(Math.max(size, 2 * scratch.length));
  const out = scratch.subarray(0, size);
  return [out, writeHeader(out, 0, payload, 0xc0)];
}

/** Bytes of the RLP header of a `length`-byte payload: 1, or 1 plus the bytes of the length from 56 on. */
function headerLength(length: number): number {
  if (length < 56) return 1;
  let bytes = 1;
  for (let l = length; l > 0; l = Math.floor(l / 256)) bytes++;
  return bytes;
}

/**
 * Writes at `at` the header of an RLP string (`base` 0x80) or list (0xc0) of `length` payload
 * bytes: `base + length` below 56 bytes, else `base + 55 + n` and the length in n big-endian
 * bytes. Returns where the payload starts.
 */
function writeHeader(out: Uint8Array, at: number, length: number, base: number): number {
  if (length < 56) {
    out[at] = base + length;
    return at + 1;
  }
  const n = headerLength(length) - 1;
  out[at] = base + 55 + n;
  for (let i = n, l = length; i > 0; i--, l = Math.floor(l / 256)) out[at + i] = l & 0xff;
  return at + n + 1;
}

/** How many nibbles of `path` equal those of `key` from `pos` on. */
function commonPrefix(path: Uint8Array, key: Uint8Array, pos: number): number {
  let i = 0;
  while (i < path.length && pos + i < key.length && path[i] === key[pos + i]) i++;
  return i;
}
