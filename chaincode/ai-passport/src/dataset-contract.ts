import { Context, Contract, Info, Returns, Transaction } from 'fabric-contract-api';
import { canonicalJson } from './canonical';
import { assertOwner, assertRole, emit, getJson, key, label, putJson, txTime } from './ledger';
import type { Dataset, Grant } from './model';
import { identifier, instant, object, onlyKeys, parseJson, positiveInteger, text, texts } from './validate';

const DATASET = 'dataset';
const GRANT = 'grant';

async function loadDataset(ctx: Context, id: string): Promise<Dataset> {
  const dataset = await getJson<Dataset>(ctx.stub, key(ctx.stub, DATASET, identifier(id, 'datasetId')));
  if (!dataset) throw new Error(`dataset ${id} does not exist`);
  return dataset;
}

function grantKey(ctx: Context, datasetId: string, subject: string): string {
  return key(ctx.stub, GRANT, identifier(datasetId, 'datasetId'), identifier(subject, 'subject'));
}

/**
 * Datasets registered by the centres that hold them, and the grants with which a dataset's owner lets a
 * passport (or an experiment) train on it. Transactions are `dataset:<Name>`.
 */
@Info({ title: 'DatasetContract', description: 'Datasets of the centres and their data-use grants' })
export class DatasetContract extends Contract {
  constructor() {
    super('dataset');
  }

  /** A centre (role centre) registers a dataset it holds; the caller becomes its owner. */
  @Transaction()
  @Returns('string')
  async Register(ctx: Context, datasetJson: string): Promise<string> {
    const caller = assertRole(ctx, 'centre', 'registering a dataset');
    const input = parseJson(datasetJson, 'dataset');
    onlyKeys(input, 'dataset', ['id', 'description', 'modality', 'size', 'usagePolicy']);
    const id = identifier(input.id, 'dataset.id');
    if (await getJson(ctx.stub, key(ctx.stub, DATASET, id))) throw new Error(`dataset ${id} already exists`);
    const policy = object(input.usagePolicy, 'dataset.usagePolicy');
    onlyKeys(policy, 'dataset.usagePolicy', ['allowedPurposes', 'allowedOrganisations', 'expiresAt']);
    const now = txTime(ctx);
    const expiresAt = instant(policy.expiresAt, 'dataset.usagePolicy.expiresAt');
    if (expiresAt <= now) throw new Error(`dataset.usagePolicy.expiresAt ${expiresAt} is not after now (${now})`);
    const dataset: Dataset = {
      docType: 'dataset',
      id,
      owner: caller,
      description: text(input.description, 'dataset.description', 10_000),
      modality: text(input.modality, 'dataset.modality', 200),
      size: positiveInteger(input.size, 'dataset.size'),
      usagePolicy: {
        allowedPurposes: texts(policy.allowedPurposes, 'dataset.usagePolicy.allowedPurposes', 1),
        allowedOrganisations: texts(policy.allowedOrganisations, 'dataset.usagePolicy.allowedOrganisations', 1),
        expiresAt,
      },
      createdTxId: ctx.stub.getTxID(),
      createdAt: now,
    };
    await putJson(ctx.stub, key(ctx.stub, DATASET, id), dataset);
    emit(ctx, 'DatasetRegistered', { datasetId: id, owner: label(caller) });
    return canonicalJson(dataset);
  }

  @Transaction(false)
  @Returns('string')
  async Read(ctx: Context, datasetId: string): Promise<string> {
    return canonicalJson(await loadDataset(ctx, datasetId));
  }

  /**
   * The dataset's owner lets `subject` (a passport or experiment id) of `organisation` train on it for
   * `purpose` until `expiresAt`, all within the dataset's usage policy. Replaces an earlier grant.
   */
  @Transaction()
  @Returns('string')
  async Grant(ctx: Context, datasetId: string, grantJson: string): Promise<string> {
    const dataset = await loadDataset(ctx, datasetId);
    const caller = assertOwner(ctx, `dataset ${datasetId}`, dataset.owner);
    const input = parseJson(grantJson, 'grant');
    onlyKeys(input, 'grant', ['subject', 'organisation', 'purpose', 'expiresAt']);
    const subject = identifier(input.subject, 'grant.subject');
    const organisation = text(input.organisation, 'grant.organisation', 200);
    const purpose = text(input.purpose, 'grant.purpose', 200);
    const expiresAt = instant(input.expiresAt, 'grant.expiresAt');
    const policy = dataset.usagePolicy;
    const now = txTime(ctx);
    if (!policy.allowedPurposes.includes(purpose)) {
      throw new Error(`grant.purpose ${purpose} is not allowed by dataset ${datasetId} (allowed: ${policy.allowedPurposes.join(', ')})`);
    }
    if (!policy.allowedOrganisations.includes(organisation)) {
      throw new Error(`grant.organisation ${organisation} is not allowed by dataset ${datasetId} (allowed: ${policy.allowedOrganisations.join(', ')})`);
    }
    if (expiresAt <= now) throw new Error(`grant.expiresAt ${expiresAt} is not after now (${now})`);
    if (expiresAt > policy.expiresAt) {
      throw new Error(`grant.expiresAt ${expiresAt} is after the usage policy of dataset ${datasetId} expires (${policy.expiresAt})`);
    }
    const grant: Grant = {
      docType: 'grant',
      datasetId,
      subject,
      organisation,
      purpose,
      expiresAt,
      status: 'GRANTED',
      grantedBy: label(caller),
      grantedTxId: ctx.stub.getTxID(),
      grantedAt: now,
    };
    await putJson(ctx.stub, grantKey(ctx, datasetId, subject), grant);
    emit(ctx, 'GrantIssued', { datasetId, subject, purpose, expiresAt });
    return canonicalJson(grant);
  }

  /** The dataset's owner withdraws a grant. */
  @Transaction()
  @Returns('string')
  async RevokeGrant(ctx: Context, datasetId: string, subject: string): Promise<string> {
    const dataset = await loadDataset(ctx, datasetId);
    assertOwner(ctx, `dataset ${datasetId}`, dataset.owner);
    const grant = await getJson<Grant>(ctx.stub, grantKey(ctx, datasetId, subject));
    if (!grant) throw new Error(`dataset ${datasetId} has no grant for ${subject}`);
    if (grant.status === 'REVOKED') throw new Error(`the grant of dataset ${datasetId} to ${subject} is already revoked`);
    const revoked: Grant = { ...grant, status: 'REVOKED', revokedTxId: ctx.stub.getTxID(), revokedAt: txTime(ctx) };
    await putJson(ctx.stub, grantKey(ctx, datasetId, subject), revoked);
    emit(ctx, 'GrantRevoked', { datasetId, subject });
    return canonicalJson(revoked);
  }

  /**
   * Read-only: is there a live grant for `subject` on the dataset now (the transaction's time), for
   * `purpose` if one is given? Answers `{ live, reason, grant }`, never refuses for a missing grant.
   */
  @Transaction(false)
  @Returns('string')
  async CheckGrant(ctx: Context, datasetId: string, subject: string, purpose: string): Promise<string> {
    const dataset = await loadDataset(ctx, datasetId);
    const grant = await getJson<Grant>(ctx.stub, grantKey(ctx, datasetId, subject));
    const now = txTime(ctx);
    const answer = (live: boolean, reason: string) => canonicalJson({ datasetId, subject, now, live, reason, grant: grant ?? null });
    if (!grant) return answer(false, `dataset ${datasetId} has no grant for ${subject}`);
    if (grant.status !== 'GRANTED') return answer(false, `the grant was revoked at ${grant.revokedAt}`);
    if (grant.expiresAt <= now) return answer(false, `the grant expired at ${grant.expiresAt}`);
    if (dataset.usagePolicy.expiresAt <= now) return answer(false, `the usage policy expired at ${dataset.usagePolicy.expiresAt}`);
    if (purpose && purpose !== grant.purpose) return answer(false, `the grant is for ${grant.purpose}, not ${purpose}`);
    return answer(true, `granted for ${grant.purpose} until ${grant.expiresAt}`);
  }
}
