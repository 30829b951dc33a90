/** Canonical encoding for everything that is signed or hashed: JSON with object keys in sorted order. */
import { createHash } from 'node:crypto';

export function canonicalString(value: unknown): string {
  return JSON.stringify(value, (_key, member: unknown) =>
    member && typeof member === 'object' && !Array.isArray(member)
      ? Object.fromEntries(Object.entries(member as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : member,
  );
}

export function canonicalBytes(value: unknown): Buffer {
  return Buffer.from(canonicalString(value), 'utf8');
}

export function sha256Hex(value: unknown): string {
  return createHash('sha256').update(canonicalBytes(value)).digest('hex');
}
