import 'reflect-metadata';
import { runService } from '@fedledger/service-kit';
import { ledgerIndexerService } from './service';

runService(ledgerIndexerService);
