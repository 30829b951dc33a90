/**
 * Input validation. Every refusal names the field it is about ("model.name must be a non-empty string"),
 * and the result is a fresh object with only the known fields, so nothing unvalidated reaches the state.
 */
export type Json = Record<string, unknown>;

/** A JSON argument of any shape. */
export function parseValue(text: string, argument: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`argument ${argument} is not valid JSON`);
  }
}

/** A JSON argument that must be an object. */
export function parseJson(text: string, argument: string): Json {
  return object(parseValue(text, argument), argument);
}

export function object(value: unknown, field: string): Json {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error(`${field} must be an object`);
  }
  return value as Json;
}

/** Refuses members other than `allowed` (a typo must not be silently dropped). */
export function onlyKeys(value: Json, field: string, allowed: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) throw new Error(`${field}.${key} is not a known field`);
  }
}

export function text(value: unknown, field: string, maxLength = 1000): string {
  if (typeof value !== 'string' || value.trim() === '') throw new Error(`${field} must be a non-empty string`);
  if (value.length > maxLength) throw new Error(`${field} must be at most ${maxLength} characters`);
  return value;
}

export function optionalText(value: unknown, field: string, maxLength = 1000): string | undefined {
  return value === undefined ? undefined : text(value, field, maxLength);
}

const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Identifiers end up inside composite keys: letters, digits, `.`, `_`, `-`; at most 128. */
export function identifier(value: unknown, field: string): string {
  if (typeof value !== 'string' || !ID.test(value)) {
    throw new Error(`${field} must be an identifier (letters, digits, '.', '_', '-'; at most 128 characters)`);
  }
  return value;
}

export function oneOf<T extends string>(value: unknown, field: string, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new Error(`${field} must be one of ${allowed.join(', ')}`);
  }
  return value as T;
}

export function list<T>(value: unknown, field: string, item: (v: unknown, f: string) => T, minItems = 0): T[] {
  if (!Array.isArray(value)) throw new Error(`${field} must be an array`);
  if (value.length < minItems) throw new Error(`${field} must have at least ${minItems} item(s)`);
  if (value.length > 1000) throw new Error(`${field} must have at most 1000 items`);
  return value.map((v, i) => item(v, `${field}[${i}]`));
}

export function texts(value: unknown, field: string, minItems = 0): string[] {
  return list(value, field, (v, f) => text(v, f), minItems);
}

export function finiteNumber(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new Error(`${field} must be a finite number`);
  return value;
}

export function positiveInteger(value: unknown, field: string, min = 1): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new Error(`${field} must be an integer >= ${min}`);
  }
  return value;
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;

export function digest(value: unknown, field: string): string {
  if (typeof value !== 'string' || !DIGEST.test(value)) {
    throw new Error(`${field} must be a digest 'sha256:' followed by 64 lowercase hex digits`);
  }
  return value;
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;

/** A UTC instant written as ISO 8601 with `Z`; returned normalised (milliseconds). */
export function instant(value: unknown, field: string): string {
  if (typeof value !== 'string' || !ISO.test(value) || Number.isNaN(Date.parse(value))) {
    throw new Error(`${field} must be a UTC time like 2026-01-31T00:00:00Z`);
  }
  return new Date(value).toISOString();
}

export function pageSize(value: number): number {
  if (!Number.isSafeInteger(value) || value < 1 || value > 200) throw new Error('pageSize must be an integer from 1 to 200');
  return value;
}
