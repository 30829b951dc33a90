import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Identity, OrganisationSummary, UserSummary } from '@fedledger/identity';
import { ClientIdentity, type ChaincodeStub } from 'fabric-shim';
import { fedledger as spawnFedledger, fedledgerIn } from './run-cli';

let tmp: string;
beforeAll(() => (tmp = mkdtempSync(path.join(os.tmpdir(), 'fedledger-cli-identity-'))));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Runs a command line in this process (cwd = the temp folder), capturing what it prints. */
const fedledger = (...argv: string[]) => fedledgerIn(tmp, argv);

const IDS = ['ub', 'optimam-stge', 'optimam-jarv', 'inbreast', 'bcdr', 'cmmd', 'orderer'];

describe('fedledger identity', () => {
  it('init creates the organisations in .data/identities by default, then keeps them', async () => {
    const r = await fedledger('identity', 'init');
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(/^7 organisations created, 0 kept, in \.data\/identities\n/);
    expect(r.stdout).toMatch(/\n {2}ub +UBMSP +created +\.data\/identities\/organizations\/ub\.fedledger\.local/);
    const again = await fedledger('identity', 'init', '--json');
    expect(again.code).toBe(0);
    const printed = JSON.parse(again.stdout) as { dir: string; organisations: OrganisationSummary[] };
    expect(printed.dir).toBe(path.join(tmp, '.data/identities'));
    expect(printed.organisations.map((o) => [o.id, o.status])).toEqual(IDS.map((id) => [id, 'kept']));
  });

  it('add issues a user whose certificate verifies against its CA and carries the role for ClientIdentity', async () => {
    const r = await fedledger('identity', 'add', '--dir', 'ids', '--org', 'bcdr', '--user', 'carol', '--role', 'auditor');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    await expect(fedledger('identity', 'init', '--dir', 'ids', '--json')).resolves.toMatchObject({ code: 0 });
    const added = await fedledger('identity', 'add', '--dir', 'ids', '--org', 'BcdrMSP', '--user', 'carol', '--role', 'auditor', '--json');
    expect(added.code).toBe(0);
    const identity = JSON.parse(added.stdout) as Omit<Identity, 'privateKeyPem'>;
    expect(identity).toMatchObject({ org: 'bcdr', mspId: 'BcdrMSP', user: 'carol', type: 'client', role: 'auditor' });
    expect(identity).not.toHaveProperty('privateKeyPem');
    const cert = new X509Certificate(identity.certPem);
    const ca = new X509Certificate(readFileSync(path.join(tmp, 'ids/organizations/bcdr.fedledger.local/msp/cacerts/ca-cert.pem')));
    expect(cert.verify(ca.publicKey)).toBe(true);
    const keyFile = path.join(identity.mspDir, 'keystore/priv_sk');
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(cert.checkPrivateKey(createPrivateKey(readFileSync(keyFile)))).toBe(true);
    const stub = { getChannelID: () => 'c', getTxID: () => 't', getCreator: () => ({ mspid: identity.mspId, idBytes: readFileSync(path.join(identity.mspDir, 'signcerts/cert.pem')) }) };
    const cid = new ClientIdentity(stub as unknown as ChaincodeStub);
    expect([cid.getMSPID(), cid.getAttributeValue('role')]).toEqual(['BcdrMSP', 'auditor']);

    const plain = await fedledger('identity', 'add', '--dir', 'ids', '--org', 'ub', '--user', 'dave', '--role', 'developer');
    expect(plain).toMatchObject({ code: 0, stdout: 'issued dave of ub (UBMSP), role developer: ids/organizations/ub.fedledger.local/users/dave@ub.fedledger.local/msp' });
  });

  it('list shows each organisation with its users, roles and expiry', async () => {
    const r = await fedledger('identity', 'list', '--dir', 'ids');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\n {2}bcdr +BcdrMSP +carol +client +auditor +\d{4}-\d\d-\d\d/);
    expect(r.stdout).toMatch(/\n {2}ub +UBMSP +Admin +admin +- +\d{4}-\d\d-\d\d/);
    const json = JSON.parse((await fedledger('identity', 'list', '--dir', 'ids', '--json')).stdout) as { organisations: Array<{ id: string; users: UserSummary[] }> };
    expect(json.organisations.find((o) => o.id === 'ub')?.users.map((u) => [u.user, u.role])).toEqual([
      ['Admin', null],
      ['dave', 'developer'],
    ]);
    await expect(fedledger('identity', 'list', '--dir', 'empty')).resolves.toMatchObject({ code: 0, stdout: 'no organisations in empty (fedledger identity init creates them)' });
  });

  it('refuses an unknown organisation, an existing user, a bad role and bad usage with one line each (real binary)', async () => {
    const dir = path.join(tmp, 'ids');
    const unknown = await spawnFedledger(['identity', 'add', '--dir', dir, '--org', 'nowhere', '--user', 'x', '--role', 'auditor']);
    expect(unknown).toMatchObject({ code: 1, stdout: '' });
    expect(unknown.stderr).toBe("fedledger identity: unknown organisation 'nowhere' (known: bcdr, cmmd, inbreast, optimam-jarv, optimam-stge, orderer, ub)\n");
    const existing = await spawnFedledger(['identity', 'add', '--dir', dir, '--org', 'ub', '--user', 'dave', '--role', 'auditor']);
    expect(existing).toMatchObject({ code: 1, stderr: "fedledger identity: user 'dave' already exists in organisation 'ub'\n" });
    const role = await fedledger('identity', 'add', '--dir', 'ids', '--org', 'ub', '--user', 'erin', '--role', 'root');
    expect(role.code).toBe(1);
    const missing = await spawnFedledger(['identity', 'add', '--dir', dir, '--org', 'ub', '--user', 'erin']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('give --role');
    const sub = await spawnFedledger(['identity', 'remove']);
    expect(sub.code).toBe(2);
    expect(sub.stderr).toContain("unknown subcommand 'remove' (init, add or list)");
    const flag = await spawnFedledger(['identity', 'init', '--role', 'auditor']);
    expect(flag.code).toBe(2);
    await expect(fedledger('identity', '--help')).resolves.toMatchObject({ code: 2, stdout: expect.stringContaining('fedledger identity add --org <org>') });
  });
});
