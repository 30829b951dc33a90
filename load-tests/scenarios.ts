import type { Identity } from '@fedledger/identity';
import { signProposal, type SignedProposal } from '@fedledger/ledger';
import type { Profile, ScenarioName } from './profiles';
import type { Target } from './vegeta';

const JSON_HEADER = { 'Content-Type': ['application/json'] };

/** A passport the chaincode accepts, owned by whoever signs its creation. */
export function passport(id: string): Record<string, unknown> {
  return {
    id,
    description: 'load-test passport',
    model: { name: 'small-cnn', version: '1.0.0', architecture: 'CNN', task: 'binary classification', modality: 'MG', framework: 'tfjs 4.22', licence: 'Apache-2.0' },
    intendedUse: { primaryUses: ['screening'], primaryUsers: ['radiologists'], outOfScopeUses: [] },
    trainingType: 'FEDERATED',
    datasets: [],
    aggregators: [],
  };
}

const submit = (registry: string, signed: SignedProposal): Target => ({
  method: 'POST',
  url: `${registry}/transactions/submit`,
  header: JSON_HEADER,
  body: Buffer.from(JSON.stringify(signed)),
});

export interface Plan {
  /** The run's tag: every passport it creates is `load-<tag>-…`. */
  tag: string;
  registry: string;
  indexer: string;
  developer: Identity;
  /** Passports created before the attack (version 1), read and updated by the scenarios. */
  seeded: string[];
}

/** How many passports to seed: each is updated at most every `seeded / rate` seconds, well after the last answer. */
export function seedCount(profile: Profile): number {
  return Math.max(50, 20 * profile.scenarios['registry-update'].rate);
}

/**
 * The requests of each scenario, in the order vegeta sends them, one per scheduled request (a few spare): signed
 * proposals are made here, before the attack, so signing costs the load generator nothing during it.
 */
export function targetsOf(name: ScenarioName, profile: Profile, plan: Plan): Target[] {
  const s = profile.scenarios[name];
  const count = Math.ceil(s.rate * profile.durationS * 1.05) + 5;
  const pick = (i: number) => plan.seeded[i % plan.seeded.length]!;
  const index = Array.from({ length: count }, (_, i) => i);
  switch (name) {
    case 'registry-create':
      return index.map((i) => submit(plan.registry, signProposal(plan.developer, 'passport:Create', [JSON.stringify(passport(`load-${plan.tag}-new-${i}`))])));
    case 'registry-update':
      // Round-robin over the seeded passports: update k is the (k / seeded)-th of its passport, so its expected
      // version is known in advance, and two updates of one passport are `seeded / rate` seconds apart.
      return index.map((i) =>
        submit(plan.registry, signProposal(plan.developer, 'passport:Update', [pick(i), String(1 + Math.floor(i / plan.seeded.length)), JSON.stringify({ description: `load update ${i}` })])),
      );
    case 'registry-read':
      return index.map((i) => ({ method: 'GET', url: `${plan.registry}/passports/${pick(i)}` }));
    case 'registry-history':
      return index.map((i) => ({ method: 'GET', url: `${plan.registry}/passports/${pick(i)}/history` }));
    case 'indexer-query': {
      // Listings the auditors' tools ask for: by owner (an MSP id), status, training type, words in the description
      // (the updates write `load update <n>`), a page further in, and the datasets.
      const owner = encodeURIComponent(plan.developer.mspId);
      const queries = [`/passports?owner=${owner}&limit=20`, '/passports?status=DRAFT&limit=20', '/passports?trainingType=FEDERATED&limit=20', '/passports?q=load%20update&limit=20', `/passports?owner=${owner}&skip=100&limit=20`, '/datasets?limit=20'];
      return index.map((i) => ({ method: 'GET', url: `${plan.indexer}${queries[i % queries.length]}` }));
    }
    case 'indexer-timeline':
      return index.map((i) => ({ method: 'GET', url: `${plan.indexer}/passports/${pick(i)}/timeline` }));
  }
}
