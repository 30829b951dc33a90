/** The committed world state (key → value and version) and the history of every key. */
import type { KeyVersion } from './blocks';

export interface VersionedValue {
  value: Buffer;
  version: KeyVersion;
}

/** One committed change of a key, as fabric-shim's KeyModification. */
export interface KeyModification {
  txId: string;
  timestamp: { seconds: number; nanos: number };
  isDelete: boolean;
  value: Buffer;
}

export class WorldState {
  private readonly entries = new Map<string, VersionedValue>();
  private readonly history = new Map<string, KeyModification[]>();

  get(key: string): VersionedValue | undefined {
    return this.entries.get(key);
  }

  /** Keys in [start, end) in code-unit order, which for composite keys is Fabric's byte order. */
  range(start: string, end: string): string[] {
    return [...this.entries.keys()].filter((k) => k >= start && (end === '' || k < end)).sort();
  }

  apply(key: string, value: Buffer | null, version: KeyVersion, modification: Omit<KeyModification, 'isDelete' | 'value'>): void {
    if (value === null) this.entries.delete(key);
    else this.entries.set(key, { value, version });
    const list = this.history.get(key) ?? [];
    list.push({ ...modification, isDelete: value === null, value: value ?? Buffer.alloc(0) });
    this.history.set(key, list);
  }

  /** Oldest first. */
  historyOf(key: string): KeyModification[] {
    return [...(this.history.get(key) ?? [])];
  }
}
