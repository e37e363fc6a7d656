import { createCipheriv, createHash } from 'node:crypto';
import { MerklePatriciaTrie } from '@ethereumjs/mpt';
import { RLP } from '@ethereumjs/rlp';
import { bytesToHex } from '@noble/hashes/utils.js';
import test from 'ava';
import { orderedTrieRoot } from '../../../src/tasks/orderedTrie.js';

/** A seeded byte stream (the ChaCha20 keystream of the seed), so a failing case replays from its seed. */
function seededRandom(seed: string) {
  const cipher = createCipheriv('chacha20', createHash('sha256').update(seed).digest(), Buffer.alloc(16));
  const bytes = (n: number): Uint8Array => new Uint8Array(cipher.update(Buffer.alloc(n)));
  const int = (max: number): number => Buffer.from(bytes(4)).readUInt32BE() % max;
  return { bytes, int };
}

/** The reference: @ethereumjs/mpt, filled the way @ethereumjs/block fills its transactions trie. */
async function mptRoot(values: Uint8Array[]): Promise<string> {
  const trie = new MerklePatriciaTrie();
  for (const [i, value] of values.entries()) await trie.put(RLP.encode(i), value);
  return bytesToHex(trie.root());
}

/**
 * Values of mixed lengths: mostly 1–31 bytes, so that many leaves and even whole branches have an
 * RLP under 32 bytes and must be embedded in their parent rather than hashed, plus transaction-sized
 * and long (> 55 bytes, long-form RLP) values.
 */
function randomValues(rnd: ReturnType<typeof seededRandom>, count: number): Uint8Array[] {
  return Array.from({ length: count }, () => {
    const kind = rnd.int(4);
    const length = kind === 0 ? 1 : kind === 1 ? 1 + rnd.int(31) : kind === 2 ? 32 + rnd.int(100) : 100 + rnd.int(400);
    return rnd.bytes(length);
  });
}

const SIZES = [0, 1, 2, 3, 15, 16, 17, 127, 128, 129, 255, 256, 257, 1_400];

test('matches @ethereumjs/mpt for the boundary sizes of RLP(index) keys', async (t) => {
  for (const size of SIZES) {
    const values = randomValues(seededRandom(`sizes-${size}`), size);
    t.is(bytesToHex(orderedTrieRoot(values)), await mptRoot(values), `${size} items`);
  }
});

test('matches @ethereumjs/mpt on random lists of random sizes (seeded)', async (t) => {
  const rnd = seededRandom('random-sizes');
  // Mostly small lists (every shape of the top of the trie), a few large ones: the MPT reference is slow.
  for (let run = 0; run < 44; run++) {
    const size = rnd.int(run < 40 ? 300 : 2_500);
    const values = randomValues(rnd, size);
    t.is(bytesToHex(orderedTrieRoot(values)), await mptRoot(values), `run ${run}: ${size} items`);
  }
});

test('inlines small nodes: one-byte values, where every leaf and low branch is embedded', async (t) => {
  for (const size of [1, 2, 5, 16, 17, 128, 129, 300]) {
    const rnd = seededRandom(`tiny-${size}`);
    // A single byte < 0x80 is its own RLP: the smallest leaves there are.
    const values = Array.from({ length: size }, () => Uint8Array.of(rnd.int(0x80)));
    t.is(bytesToHex(orderedTrieRoot(values)), await mptRoot(values), `${size} one-byte values`);
  }
});

test('the empty list has the empty trie root, and the root of a tiny trie is still hashed', async (t) => {
  t.is(bytesToHex(orderedTrieRoot([])), '56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421');
  // RLP of the single leaf is 4 bytes: embedded if it were a child, hashed as the root.
  const root = orderedTrieRoot([Uint8Array.of(1)]);
  t.is(root.length, 32);
  t.is(bytesToHex(root), await mptRoot([Uint8Array.of(1)]));
});

test('the root depends on every byte and on the order of the values', (t) => {
  const values = randomValues(seededRandom('sensitivity'), 200);
  const root = bytesToHex(orderedTrieRoot(values));
  for (const index of [0, 1, 127, 128, 199]) {
    const flipped = values.map((v) => v.slice());
    flipped[index]![flipped[index]!.length - 1]! ^= 0x01;
    t.not(bytesToHex(orderedTrieRoot(flipped)), root, `byte flipped in value ${index}`);
  }
  const swapped = [...values];
  [swapped[0], swapped[1]] = [swapped[1]!, swapped[0]!];
  t.not(bytesToHex(orderedTrieRoot(swapped)), root, 'two values swapped');
});

test('an empty value is refused: in an MPT it would mean a deletion', (t) => {
  t.throws(() => orderedTrieRoot([Uint8Array.of(1), new Uint8Array(0)]), { instanceOf: RangeError });
});
