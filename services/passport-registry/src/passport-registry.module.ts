import { Module } from '@nestjs/common';

/** AI passports, datasets, grants and identities on the ledger (issue 5). */
@Module({})
export class PassportRegistryModule {}
