/** Thin helpers over the stub and client identity that every transaction uses. */
import { createHash } from 'node:crypto';
import type { Context } from 'fabric-contract-api';
import { canonicalJson, fromBytes, toBytes } from './canonical';
import type { Identity, Page, Role } from './model';
import { pageSize } from './validate';

type Stub = Context['stub'];
type Iterator<T> = { next(): Promise<{ value: T; done: boolean }>; close(): Promise<void> };

/** The value stored beside index keys: Fabric's convention, a single NUL byte. */
const INDEX_VALUE = Uint8Array.of(0);

export function key(stub: Stub, objectType: string, ...attributes: string[]): string {
  return stub.createCompositeKey(objectType, attributes);
}

export async function getJson<T>(stub: Stub, stateKey: string): Promise<T | undefined> {
  const bytes = await stub.getState(stateKey);
  return bytes && bytes.length > 0 ? fromBytes<T>(bytes) : undefined;
}

export async function putJson(stub: Stub, stateKey: string, value: unknown): Promise<void> {
  await stub.putState(stateKey, toBytes(value));
}

/** Transaction time from the proposal's timestamp (same on every endorsing peer), as ISO 8601. */
export function txTime(ctx: Context): string {
  return isoOf(ctx.stub.getTxTimestamp());
}

/** A protobuf Timestamp (`seconds` a Long in fabric-shim's types, a number in some builds) as ISO 8601. */
function isoOf(ts: { seconds: unknown; nanos: number }): string {
  const seconds = typeof ts.seconds === 'number' ? ts.seconds : Number(String(ts.seconds));
  return new Date(seconds * 1000 + Math.floor(ts.nanos / 1e6)).toISOString();
}

/** One event per write transaction (Fabric keeps only the last `setEvent` of a transaction anyway). */
export function emit(ctx: Context, name: string, payload: Record<string, unknown>): void {
  ctx.stub.setEvent(name, toBytes({ ...payload, txId: ctx.stub.getTxID() }));
}

export function sha256(value: unknown): string {
  return `sha256:${createHash('sha256').update(canonicalJson(value)).digest('hex')}`;
}

/** `x509::/C=US/.../CN=dev-1::/C=US/.../CN=ca` or `x509::CN=dev-1,OU=client::CN=ca` → `dev-1`. */
export function commonNameOf(clientId: string): string {
  const subject = clientId.startsWith('x509::') ? clientId.slice(6).split('::')[0] : clientId;
  const match = /(?:^|[/,])\s*CN=([^/,]+)/.exec(subject);
  return match ? match[1] : clientId;
}

export function callerOf(ctx: Context): Identity {
  const clientId = ctx.clientIdentity.getID();
  return { mspId: ctx.clientIdentity.getMSPID(), clientId, commonName: commonNameOf(clientId) };
}

export function label(identity: Identity): string {
  return `${identity.mspId}/${identity.commonName}`;
}

export function sameIdentity(a: Identity, b: Identity): boolean {
  return a.mspId === b.mspId && a.clientId === b.clientId;
}

/** Does `MSP/name` (name = common name or full client id) name this identity? */
export function matchesReference(reference: string, identity: Identity): boolean {
  const slash = reference.indexOf('/');
  if (slash < 1) return false;
  const name = reference.slice(slash + 1);
  return reference.slice(0, slash) === identity.mspId && (name === identity.commonName || name === identity.clientId);
}

export function assertOwner(ctx: Context, what: string, owner: Identity): Identity {
  const caller = callerOf(ctx);
  if (!sameIdentity(owner, caller)) throw new Error(`${what} is owned by ${label(owner)}, caller is ${label(caller)}`);
  return caller;
}

/** Roles come from the `role` attribute Fabric CA puts into the enrolment certificate. */
export function assertRole(ctx: Context, role: Role, action: string): Identity {
  const caller = callerOf(ctx);
  if (!ctx.clientIdentity.assertAttributeValue('role', role)) {
    const actual = ctx.clientIdentity.getAttributeValue('role');
    throw new Error(`${action} needs role ${role}, caller ${label(caller)} has ${actual ? `role ${actual}` : 'no role'}`);
  }
  return caller;
}

export async function putIndex(stub: Stub, objectType: string, attributes: string[]): Promise<void> {
  await stub.putState(stub.createCompositeKey(objectType, attributes), INDEX_VALUE);
}

export async function deleteIndex(stub: Stub, objectType: string, attributes: string[]): Promise<void> {
  await stub.deleteState(stub.createCompositeKey(objectType, attributes));
}

async function drain<T>(iterator: Iterator<T>, each: (value: T) => void): Promise<void> {
  try {
    for (;;) {
      const result = await iterator.next();
      if (result.value !== undefined && result.value !== null) each(result.value);
      if (result.done) break;
    }
  } finally {
    await iterator.close();
  }
}

/**
 * One page of a composite-key range (`objectType` + leading `attributes`); `load` turns each key (split
 * into its attributes) and value into a record. The default LevelDB state database has no rich queries,
 * so every query the chaincode offers is a partial composite key.
 */
export async function pageByPartialKey<T>(
  stub: Stub,
  objectType: string,
  attributes: string[],
  size: number,
  bookmark: string,
  load: (attributes: string[], value: Uint8Array) => Promise<T | undefined>,
): Promise<Page<T>> {
  const { iterator, metadata } = await stub.getStateByPartialCompositeKeyWithPagination(
    objectType,
    attributes,
    pageSize(size),
    bookmark || undefined,
  );
  const found: { attributes: string[]; value: Uint8Array }[] = [];
  await drain(iterator, (kv) => found.push({ attributes: stub.splitCompositeKey(kv.key).attributes, value: kv.value }));
  const records: T[] = [];
  for (const entry of found) {
    const record = await load(entry.attributes, entry.value);
    if (record !== undefined) records.push(record);
  }
  // A Fabric peer sends no metadata for an empty last page (its protobuf encodes to nothing), so fabric-shim gives none.
  return { records, fetchedRecordsCount: metadata?.fetchedRecordsCount ?? 0, bookmark: metadata?.bookmark ?? '' };
}

export interface Version<T> {
  txId: string;
  timestamp: string;
  isDelete: boolean;
  value: T | null;
}

/** Every committed version of a key, in the order the peer returns them (callers sort). */
export async function historyOf<T>(stub: Stub, stateKey: string): Promise<Version<T>[]> {
  const iterator = (await stub.getHistoryForKey(stateKey)) as Iterator<{
    txId: string;
    isDelete: boolean;
    value: Uint8Array;
    timestamp: { seconds: unknown; nanos: number };
  }>;
  const versions: Version<T>[] = [];
  await drain(iterator, (m) => {
    versions.push({
      txId: m.txId,
      timestamp: isoOf(m.timestamp),
      isDelete: m.isDelete,
      value: m.isDelete || !m.value || m.value.length === 0 ? null : fromBytes<T>(m.value),
    });
  });
  return versions;
}
