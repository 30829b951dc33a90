import { serviceStartupTest } from '@fedledger/testing';

serviceStartupTest('aggregator', { http: false, streams: ['FL_UPDATES', 'FL_AGGREGATES', 'FL_BLOBS'] });
