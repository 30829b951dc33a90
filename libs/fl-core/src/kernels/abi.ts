/** Constants shared by the kernel sources (build/) and their callers. */

/** Most sources one fold call combines. */
export const FOLD_MAX = 8;
/** Byte offset of the float64 weights inside a fold table (up to FOLD_MAX i32 source pointers come first). */
export const FOLD_TABLE_WEIGHTS = 64;

/** Where a fold's running sum starts: the float64 sum in memory, or zero (the first pass: nothing to read). */
export type FoldStart = 'acc' | 'zero';
/** What a fold leaves: the sum, the mean in float64 (in place), or the mean rounded to float32. */
export type FoldEnd = 'sum' | 'mean64' | 'mean32';

/** Export name of the fold kernel for k sources. */
export const foldName = (start: FoldStart, end: FoldEnd, k: number): string => `fold_${start}_${end}_${k}`;
