/** The winston loggers of fabric-contract-api and fabric-shim; they ship no types. */
declare module 'fabric-contract-api/lib/logger' {
  /** Sets every logger created so far (CRITICAL, ERROR, WARNING, INFO, DEBUG). */
  export function setLevel(level: string): void;
}
declare module 'fabric-shim/lib/logger' {
  export function setLevel(level: string): void;
}
