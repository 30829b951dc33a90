/**
 * What the chaincode stores. Field names follow Model Cards (model details, intended use, metrics, ethical
 * considerations) and the FUTURE-AI traceability recommendations (datasets and their centres, training
 * rounds with digests, flagged biases, the digest of the released artefact) where they fit.
 */
export const SCHEMA_VERSION = '1.0';

export const PASSPORT_STATUSES = ['DRAFT', 'ACTIVE', 'SUSPENDED', 'DEPRECATED', 'REVOKED'] as const;
export type PassportStatus = (typeof PASSPORT_STATUSES)[number];

export const TRAINING_TYPES = ['FEDERATED', 'CENTRALISED', 'TRANSFER', 'FINE_TUNED'] as const;
export type TrainingType = (typeof TRAINING_TYPES)[number];

export const DATASET_ROLES = ['train', 'validation', 'test'] as const;
export type DatasetRole = (typeof DATASET_ROLES)[number];

export const BIAS_SEVERITIES = ['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'] as const;
export type BiasSeverity = (typeof BIAS_SEVERITIES)[number];

export const ROLES = ['developer', 'aggregator', 'auditor', 'centre'] as const;
export type Role = (typeof ROLES)[number];

/** Who submitted a transaction: MSP id, the full client id (`x509::<subject>::<issuer>`) and its CN. */
export interface Identity {
  mspId: string;
  clientId: string;
  commonName: string;
}

export interface ModelDetails {
  name: string;
  version: string;
  architecture: string;
  task: string;
  modality: string;
  framework: string;
  licence: string;
}

export interface IntendedUse {
  primaryUses: string[];
  primaryUsers: string[];
  outOfScopeUses: string[];
}

export interface DatasetRef {
  datasetId: string;
  role: DatasetRole;
  centre: string;
}

export interface Metric {
  name: string;
  value: number;
  dataset: string;
  subgroup?: string;
  recordedTxId: string;
  recordedAt: string;
}

export interface Bias {
  biasId: string;
  type: string;
  affectedGroup: string;
  severity: BiasSeverity;
  description?: string;
  status: 'OPEN' | 'RESOLVED';
  flaggedBy: string;
  flaggedTxId: string;
  flaggedAt: string;
  resolution?: string;
  resolvedTxId?: string;
  resolvedAt?: string;
}

export interface Passport {
  docType: 'passport';
  id: string;
  schemaVersion: string;
  version: number;
  status: PassportStatus;
  owner: Identity;
  description: string;
  model: ModelDetails;
  intendedUse: IntendedUse;
  trainingType: TrainingType;
  datasets: DatasetRef[];
  /** `MSP/name` where name is a client's common name or full client id. */
  aggregators: string[];
  metrics: Metric[];
  biases: Bias[];
  artifactDigest: string | null;
  /** Number and chain digest of the last federated round (0 and null before the first). */
  roundCount: number;
  lastRoundDigest: string | null;
  createdTxId: string;
  createdAt: string;
  updatedTxId: string;
  updatedAt: string;
}

export interface RoundParticipant {
  centre: string;
  updateDigest: string;
  numExamples: number;
}

export interface RoundMetric {
  name: string;
  value: number;
  dataset?: string;
}

export interface Round {
  docType: 'round';
  passportId: string;
  roundNumber: number;
  /** The previous round's `roundDigest`; null for round 1. */
  previousRoundDigest: string | null;
  participants: RoundParticipant[];
  aggregateDigest: string;
  metrics: RoundMetric[];
  aggregator: string;
  txId: string;
  timestamp: string;
  /** sha256 of the canonical JSON of this record without `roundDigest`: what the next round must carry. */
  roundDigest: string;
}

export interface UsagePolicy {
  allowedPurposes: string[];
  allowedOrganisations: string[];
  expiresAt: string;
}

export interface Dataset {
  docType: 'dataset';
  id: string;
  owner: Identity;
  description: string;
  modality: string;
  size: number;
  usagePolicy: UsagePolicy;
  createdTxId: string;
  createdAt: string;
}

export interface Grant {
  docType: 'grant';
  datasetId: string;
  /** A passport id or an experiment id. */
  subject: string;
  organisation: string;
  purpose: string;
  expiresAt: string;
  status: 'GRANTED' | 'REVOKED';
  grantedBy: string;
  grantedTxId: string;
  grantedAt: string;
  revokedTxId?: string;
  revokedAt?: string;
}

export interface Page<T> {
  records: T[];
  fetchedRecordsCount: number;
  /** Pass back to get the next page; empty when there is none. */
  bookmark: string;
}
