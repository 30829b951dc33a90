/** Constants shared by the kernel sources (build/) and their callers. */

/** Most sources one fold call combines. */
export const FOLD_MAX = 8;
/** Byte offset of the float64 weights inside a fold table (up to FOLD_MAX i32 source pointers come first). */
export const FOLD_TABLE_WEIGHTS = 64;
