/**
 * Comparator networks for the coordinate-wise strategies: Batcher's odd–even merge sort, cut to n wires and
 * pruned to the comparators that can move a value into the outputs asked for (the middle one or two for a
 * median, the kept range for a trimmed mean). A network sorts every column of a block at once, 4 lanes per
 * SIMD instruction, with no data-dependent branch.
 */

/** A comparator: after it, wire a holds the smaller value and wire b the larger (a < b). */
export type Comparator = readonly [a: number, b: number];

/**
 * Batcher's odd–even merge sort for n wires (Knuth TAOCP 5.3.4): the network for the next power of two with
 * every comparator touching a wire ≥ n dropped — as if those wires held +∞, which no comparator would move.
 */
export function oddEvenMergeSort(n: number): Comparator[] {
  let size = 1;
  while (size < n) size *= 2;
  const out: Comparator[] = [];
  for (let p = 1; p < size; p *= 2) {
    for (let k = p; k >= 1; k /= 2) {
      for (let j = k % p; j + k < size; j += 2 * k) {
        for (let i = 0; i < Math.min(k, size - j - k); i++) {
          const a = i + j;
          const b = i + j + k;
          if (Math.floor(a / (2 * p)) === Math.floor(b / (2 * p)) && b < n) out.push([a, b]);
        }
      }
    }
  }
  return out;
}

/** Keeps the comparators that can affect the wires in `outputs` (walking backwards from them). */
export function pruneTo(network: readonly Comparator[], outputs: readonly number[]): Comparator[] {
  const needed = new Set(outputs);
  const kept: Comparator[] = [];
  for (let c = network.length - 1; c >= 0; c--) {
    const [a, b] = network[c];
    if (needed.has(a) || needed.has(b)) {
      kept.push(network[c]);
      needed.add(a);
      needed.add(b);
    }
  }
  return kept.reverse();
}

const tables = new Map<string, Int32Array>();

/**
 * The network that puts the sorted values of n wires at positions [from, to), as (a, b) pairs of byte offsets
 * for rows `strideBytes` apart — the table the `compareExchange` kernel runs. Cached.
 */
export function networkTable(n: number, from: number, to: number, strideBytes: number): Int32Array {
  const key = `${n}:${from}:${to}:${strideBytes}`;
  let table = tables.get(key);
  if (!table) {
    const outputs = Array.from({ length: to - from }, (_, i) => from + i);
    const network = pruneTo(oddEvenMergeSort(n), outputs);
    table = Int32Array.from(network.flatMap(([a, b]) => [a * strideBytes, b * strideBytes]));
    tables.set(key, table);
  }
  return table;
}
