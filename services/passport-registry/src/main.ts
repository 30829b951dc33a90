import 'reflect-metadata';
import { runService } from '@fedledger/service-kit';
import { passportRegistryService } from './service';

runService(passportRegistryService);
