/** Parsing and validation of the JSON arguments of the passport transactions. */
import {
  BIAS_SEVERITIES,
  DATASET_ROLES,
  TRAINING_TYPES,
  type BiasSeverity,
  type DatasetRef,
  type IntendedUse,
  type ModelDetails,
  type RoundMetric,
  type RoundParticipant,
  type TrainingType,
} from './model';
import {
  digest,
  finiteNumber,
  identifier,
  list,
  object,
  oneOf,
  onlyKeys,
  optionalText,
  positiveInteger,
  text,
  texts,
  type Json,
} from './validate';

const MODEL_FIELDS = ['name', 'version', 'architecture', 'task', 'modality', 'framework', 'licence'] as const;

export function modelDetails(value: unknown, field: string): ModelDetails {
  const o = object(value, field);
  onlyKeys(o, field, MODEL_FIELDS);
  const out = {} as ModelDetails;
  for (const name of MODEL_FIELDS) out[name] = text(o[name], `${field}.${name}`, 200);
  return out;
}

export function intendedUse(value: unknown, field: string): IntendedUse {
  const o = object(value, field);
  onlyKeys(o, field, ['primaryUses', 'primaryUsers', 'outOfScopeUses']);
  return {
    primaryUses: texts(o.primaryUses, `${field}.primaryUses`, 1),
    primaryUsers: texts(o.primaryUsers, `${field}.primaryUsers`, 1),
    outOfScopeUses: texts(o.outOfScopeUses ?? [], `${field}.outOfScopeUses`),
  };
}

export function trainingType(value: unknown, field: string): TrainingType {
  return oneOf(value, field, TRAINING_TYPES);
}

export function datasetRefs(value: unknown, field: string): DatasetRef[] {
  const refs = list(value, field, (v, f) => {
    const o = object(v, f);
    onlyKeys(o, f, ['datasetId', 'role', 'centre']);
    return {
      datasetId: identifier(o.datasetId, `${f}.datasetId`),
      role: oneOf(o.role, `${f}.role`, DATASET_ROLES),
      centre: text(o.centre, `${f}.centre`, 200),
    };
  });
  const seen = new Set<string>();
  for (const ref of refs) {
    const k = `${ref.datasetId}/${ref.role}`;
    if (seen.has(k)) throw new Error(`${field} lists dataset ${ref.datasetId} as ${ref.role} twice`);
    seen.add(k);
  }
  return refs;
}

/** Aggregator identities as `MSP/name`, name being a common name or a full client id. */
export function aggregators(value: unknown, field: string): string[] {
  return list(value, field, (v, f) => {
    const ref = text(v, f, 500);
    if (!/^[^/\s]+\/\S/.test(ref)) throw new Error(`${f} must be 'MSPID/name'`);
    return ref;
  });
}

export function metricInputs(value: unknown, field: string): { name: string; value: number; dataset: string; subgroup?: string }[] {
  return list(
    value,
    field,
    (v, f) => {
      const o = object(v, f);
      onlyKeys(o, f, ['name', 'value', 'dataset', 'subgroup']);
      return {
        name: text(o.name, `${f}.name`, 200),
        value: finiteNumber(o.value, `${f}.value`),
        dataset: text(o.dataset, `${f}.dataset`, 200),
        subgroup: optionalText(o.subgroup, `${f}.subgroup`, 200),
      };
    },
    1,
  );
}

export function biasInput(o: Json): { type: string; affectedGroup: string; severity: BiasSeverity; description?: string } {
  onlyKeys(o, 'bias', ['type', 'affectedGroup', 'severity', 'description']);
  return {
    type: text(o.type, 'bias.type', 200),
    affectedGroup: text(o.affectedGroup, 'bias.affectedGroup', 200),
    severity: oneOf(o.severity, 'bias.severity', BIAS_SEVERITIES),
    description: optionalText(o.description, 'bias.description'),
  };
}

export interface RoundInput {
  roundNumber: number;
  previousRoundDigest: string | null;
  participants: RoundParticipant[];
  aggregateDigest: string;
  metrics: RoundMetric[];
}

export function roundInput(o: Json): RoundInput {
  onlyKeys(o, 'round', ['roundNumber', 'previousRoundDigest', 'participants', 'aggregateDigest', 'metrics']);
  const participants = list(
    o.participants,
    'round.participants',
    (v, f) => {
      const p = object(v, f);
      onlyKeys(p, f, ['centre', 'updateDigest', 'numExamples']);
      return {
        centre: text(p.centre, `${f}.centre`, 200),
        updateDigest: digest(p.updateDigest, `${f}.updateDigest`),
        numExamples: positiveInteger(p.numExamples, `${f}.numExamples`),
      };
    },
    1,
  );
  const metrics = list(o.metrics ?? [], 'round.metrics', (v, f) => {
    const m = object(v, f);
    onlyKeys(m, f, ['name', 'value', 'dataset']);
    return {
      name: text(m.name, `${f}.name`, 200),
      value: finiteNumber(m.value, `${f}.value`),
      dataset: optionalText(m.dataset, `${f}.dataset`, 200),
    };
  });
  return {
    roundNumber: positiveInteger(o.roundNumber, 'round.roundNumber'),
    previousRoundDigest: o.previousRoundDigest === null ? null : digest(o.previousRoundDigest, 'round.previousRoundDigest'),
    participants,
    aggregateDigest: digest(o.aggregateDigest, 'round.aggregateDigest'),
    metrics,
  };
}
