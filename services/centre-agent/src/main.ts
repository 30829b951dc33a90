import 'reflect-metadata';
import { runService } from '@fedledger/service-kit';
import { centreAgentService } from './service';

runService(centreAgentService);
