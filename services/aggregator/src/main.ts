import 'reflect-metadata';
import { runService } from '@fedledger/service-kit';
import { aggregatorService } from './service';

runService(aggregatorService);
