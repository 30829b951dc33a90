import { serviceStartupTest } from '@fedledger/testing';

serviceStartupTest('centre-agent', { http: false, streams: [], env: { CENTRE_ID: 'bcdr' } });
