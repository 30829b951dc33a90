import { serviceStartupTest } from '@fedledger/testing';

serviceStartupTest('passport-registry', { http: true, streams: [] });
