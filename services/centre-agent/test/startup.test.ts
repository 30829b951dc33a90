import { serviceStartupTest } from '@fedledger/testing';

serviceStartupTest('centre-agent', { http: false, streams: ['FL_BLOBS'], env: { CENTRE_ID: 'bcdr' } });
