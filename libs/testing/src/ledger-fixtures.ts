/**
 * Inputs of the ai-passport chaincode for tests and benchmarks: a valid passport and dataset, changed where a test
 * needs it. (The chaincode's own tests keep theirs: it is deployed alone and imports nothing.)
 */
export interface PassportFixture {
  id: string;
  description: string;
  model: Record<'name' | 'version' | 'architecture' | 'task' | 'modality' | 'framework' | 'licence', string>;
  intendedUse: { primaryUses: string[]; primaryUsers: string[]; outOfScopeUses?: string[] };
  trainingType: string;
  datasets: { datasetId: string; role: string; centre: string }[];
  aggregators: string[];
}

/** A valid passport for `passport:Create`, FEDERATED, on no dataset and with no aggregator unless given. */
export function passportFixture(id: string, changes: Partial<PassportFixture> = {}): PassportFixture {
  return {
    id,
    description: 'Breast lesion classifier trained across centres',
    model: { name: 'small-cnn', version: '1', architecture: 'small-cnn', task: 'benign vs malignant', modality: 'MG', framework: 'tfjs 4.22', licence: 'research' },
    intendedUse: { primaryUses: ['research'], primaryUsers: ['radiologists'] },
    trainingType: 'FEDERATED',
    datasets: [],
    aggregators: [],
    ...changes,
  };
}

/** A valid dataset for `dataset:Register`: usable for training by UBMSP until 2030. */
export function datasetFixture(id: string, changes: { description?: string; size?: number; allowedOrganisations?: string[] } = {}): Record<string, unknown> {
  return {
    id,
    description: changes.description ?? id,
    modality: 'MG',
    size: changes.size ?? 100,
    usagePolicy: { allowedPurposes: ['training'], allowedOrganisations: changes.allowedOrganisations ?? ['UBMSP'], expiresAt: '2030-01-01T00:00:00.000Z' },
  };
}

/** A grant for `dataset:Grant`: `subject` may train until 2029. */
export function grantFixture(subject: string): Record<string, unknown> {
  return { subject, organisation: 'UBMSP', purpose: 'training', expiresAt: '2029-01-01T00:00:00.000Z' };
}
