import { serviceStartupTest } from '@fedledger/testing';

serviceStartupTest('round-coordinator', { http: true, streams: ['FL_TASKS', 'FL_EVENTS', 'FL_HEARTBEATS', 'FL_CONTROL', 'KV_fl_experiments'] });
