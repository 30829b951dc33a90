/**
 * Entry point for fabric-chaincode-node / fabric-shim: it instantiates every class in `contracts`. The
 * first is the default contract, so `Create` means `passport:Create`; dataset transactions are
 * `dataset:<Name>`.
 */
import { DatasetContract } from './dataset-contract';
import { PassportContract } from './passport-contract';

export { canonicalJson } from './canonical';
export { DatasetContract } from './dataset-contract';
export { PassportContract } from './passport-contract';
export * from './model';

export const contracts = [PassportContract, DatasetContract];
