import 'reflect-metadata';
import { runService } from '@fedledger/service-kit';
import { roundCoordinatorService } from './service';

runService(roundCoordinatorService);
