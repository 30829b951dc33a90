import { serviceStartupTest } from '@fedledger/testing';

// A centre touches no stream (least privilege): it waits for the ones the platform's services provision.
serviceStartupTest('centre-agent', { http: false, streams: 'none', env: { CENTRE_ID: 'bcdr' } });
