/** Callers, contracts and example inputs shared by the chaincode tests. */
import { DatasetContract, PassportContract } from '../../src';
import { identity, MemoryLedger } from './memory-ledger';

export const dev1 = identity('UB', 'dev-1', 'developer');
export const dev2 = identity('UB', 'dev-2', 'developer');
export const agg = identity('UB', 'agg-1', 'aggregator');
export const otherAgg = identity('HCL', 'agg-2', 'aggregator');
export const auditor = identity('AUDIT', 'aud-1', 'auditor');
export const centre = identity('HCL', 'centre-hcl', 'centre');
export const otherCentre = identity('CHU', 'centre-chu', 'centre');
export const noRole = identity('UB', 'nobody');

export const digestOf = (c: string) => `sha256:${c.repeat(64)}`;

export function passportInput(id = 'p-17', extra: Record<string, unknown> = {}) {
  return {
    id,
    description: 'Lung nodule classifier trained across three hospitals',
    model: {
      name: 'nodule-net',
      version: '1.0.0',
      architecture: 'ResNet-18',
      task: 'binary classification',
      modality: 'CT',
      framework: 'tfjs 4.22',
      licence: 'Apache-2.0',
    },
    intendedUse: { primaryUses: ['triage of CT nodules'], primaryUsers: ['radiologists'], outOfScopeUses: ['paediatrics'] },
    trainingType: 'FEDERATED',
    datasets: [
      { datasetId: 'ds-hcl', role: 'train', centre: 'HCL' },
      { datasetId: 'ds-chu', role: 'test', centre: 'CHU' },
    ],
    aggregators: ['UB/agg-1'],
    ...extra,
  };
}

export function setup() {
  const ledger = new MemoryLedger();
  const passports = new PassportContract();
  const datasets = new DatasetContract();
  return { ledger, passports, datasets };
}
