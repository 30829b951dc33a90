import { serviceStartupTest } from '@fedledger/testing';

serviceStartupTest('ledger-indexer', { http: true, streams: [] });
