import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Certificate } from '@fidm/x509';
import { ClientIdentity, type ChaincodeStub } from 'fabric-shim';
import {
  addIdentity,
  DEFAULT_ORGANISATIONS,
  ensureNode,
  FABRIC_ATTRS_OID,
  IdentityError,
  initOrganisations,
  loadIdentity,
  listIdentities,
  REQUEST_HEADERS,
  RequestSignatureError,
  ROLES,
  signRequest,
  signUpdate,
  UpdateSignatureError,
  verifyRequestSignature,
  verifyUpdateSignature,
  type Identity,
} from '../src';

let root: string;
beforeAll(() => (root = mkdtempSync(path.join(os.tmpdir(), 'fedledger-identity-'))));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const ub = () => path.join(root, 'organizations', 'ub.fedledger.local');
const mode = (file: string) => statSync(file).mode & 0o777;

/** fabric-shim's ClientIdentity over a stub that only answers what its constructor asks. */
function clientIdentity(identity: Identity): ClientIdentity {
  const stub = { getChannelID: () => 'passports', getTxID: () => 'tx1', getCreator: () => ({ mspid: identity.mspId, idBytes: Buffer.from(identity.certPem) }) };
  return new ClientIdentity(stub as unknown as ChaincodeStub);
}

describe('initOrganisations', () => {
  it('creates every organisation of the local stack as a Fabric MSP folder with a CA and an admin', async () => {
    const orgs = await initOrganisations(root);
    expect(orgs.map((o) => [o.id, o.mspId, o.status])).toEqual(DEFAULT_ORGANISATIONS.map((o) => [o.id, o.mspId, 'created']));
    expect(orgs.map((o) => o.mspId)).toEqual(['UBMSP', 'OptimamStgeMSP', 'OptimamJarvMSP', 'InbreastMSP', 'BcdrMSP', 'CmmdMSP', 'OrdererMSP']);
    for (const file of ['ca/ca-cert.pem', 'ca/priv_sk', 'msp/cacerts/ca-cert.pem', 'msp/config.yaml']) expect(existsSync(path.join(ub(), file))).toBe(true);
    expect(readFileSync(path.join(ub(), 'msp/cacerts/ca-cert.pem'), 'utf8')).toBe(readFileSync(path.join(ub(), 'ca/ca-cert.pem'), 'utf8'));
    const config = readFileSync(path.join(ub(), 'msp/config.yaml'), 'utf8');
    expect(config).toMatch(/^NodeOUs:\n {2}Enable: true\n/);
    for (const [key, ou] of [['ClientOUIdentifier', 'client'], ['PeerOUIdentifier', 'peer'], ['AdminOUIdentifier', 'admin'], ['OrdererOUIdentifier', 'orderer']]) {
      expect(config).toContain(`  ${key}:\n    Certificate: cacerts/ca-cert.pem\n    OrganizationalUnitIdentifier: ${ou}\n`);
    }
  });

  it('makes a self-signed ECDSA P-256 CA certificate with CA:true and certificate signing', () => {
    const ca = new X509Certificate(readFileSync(path.join(ub(), 'ca/ca-cert.pem')));
    expect(ca.ca).toBe(true);
    expect(ca.verify(ca.publicKey)).toBe(true);
    expect(ca.subject).toBe('O=ub.fedledger.local\nCN=ca.ub.fedledger.local');
    expect(ca.publicKey.asymmetricKeyDetails).toEqual({ namedCurve: 'prime256v1' });
    const fidm = Certificate.fromPEM(readFileSync(path.join(ub(), 'ca/ca-cert.pem')));
    expect(fidm.keyUsage & 0b1100000).toBe(0b1100000); // keyCertSign (1 << 5), cRLSign (1 << 6)
    expect(fidm.subjectKeyIdentifier).toMatch(/^[0-9a-f]{40}$/);
    expect(ca.checkPrivateKey(createPrivateKey(readFileSync(path.join(ub(), 'ca/priv_sk'))))).toBe(true);
  });

  it('creates an admin per organisation, OU=admin, without a role', () => {
    const admin = loadIdentity(root, 'cmmd', 'Admin');
    expect(admin).toMatchObject({ org: 'cmmd', mspId: 'CmmdMSP', user: 'Admin', type: 'admin', role: null });
    expect(new X509Certificate(admin.certPem).subject).toBe('O=cmmd.fedledger.local\nOU=admin\nCN=Admin');
    expect(clientIdentity(admin).getAttributeValue('hf.Type')).toBe('admin');
    expect(listIdentities(root).map((o) => [o.id, o.users.map((u) => u.user)])).toEqual(
      expect.arrayContaining(DEFAULT_ORGANISATIONS.map((o) => [o.id, ['Admin']])),
    );
  });

  it('writes private keys with mode 0600', () => {
    expect(mode(path.join(ub(), 'ca/priv_sk'))).toBe(0o600);
    expect(mode(path.join(ub(), 'users/Admin@ub.fedledger.local/msp/keystore/priv_sk'))).toBe(0o600);
  });

  it('is idempotent: a second run keeps each CA and admin, and only restores what is missing', async () => {
    const caBefore = readFileSync(path.join(ub(), 'ca/ca-cert.pem'), 'utf8');
    const adminBefore = loadIdentity(root, 'ub', 'Admin').certPem;
    rmSync(path.join(root, 'organizations/bcdr.fedledger.local/users/Admin@bcdr.fedledger.local'), { recursive: true });
    const again = await initOrganisations(root);
    expect(again.map((o) => o.status)).toEqual(DEFAULT_ORGANISATIONS.map(() => 'kept'));
    expect(readFileSync(path.join(ub(), 'ca/ca-cert.pem'), 'utf8')).toBe(caBefore);
    expect(loadIdentity(root, 'ub', 'Admin').certPem).toBe(adminBefore);
    const bcdrAdmin = new X509Certificate(loadIdentity(root, 'bcdr', 'Admin').certPem);
    expect(bcdrAdmin.verify(new X509Certificate(readFileSync(path.join(root, 'organizations/bcdr.fedledger.local/ca/ca-cert.pem'))).publicKey)).toBe(true);
  });

  it('refuses an organisation whose folder holds another one, and malformed or repeated organisations', async () => {
    await expect(initOrganisations(root, [{ id: 'ub', mspId: 'OtherMSP', domain: 'ub.fedledger.local' }])).rejects.toThrow(/already holds organisation 'ub' \(UBMSP\), not 'ub' \(OtherMSP\)/);
    await expect(initOrganisations(root, [{ id: 'a b', mspId: 'AMSP', domain: 'a.local' }])).rejects.toThrow(IdentityError);
    await expect(
      initOrganisations(root, [
        { id: 'a', mspId: 'AMSP', domain: 'a.local' },
        { id: 'b', mspId: 'AMSP', domain: 'b.local' },
      ]),
    ).rejects.toThrow(/repeats/);
  });
});

describe('addIdentity', () => {
  let alice: Identity;
  beforeAll(async () => {
    alice = await addIdentity(root, { org: 'optimam-stge', user: 'alice', role: 'centre' });
  });

  it('writes a user MSP folder like cryptogen: signcerts, keystore (0600), cacerts, config.yaml', () => {
    const msp = path.join(root, 'organizations/optimam-stge.fedledger.local/users/alice@optimam-stge.fedledger.local/msp');
    expect(alice.mspDir).toBe(msp);
    expect(readFileSync(path.join(msp, 'signcerts/cert.pem'), 'utf8')).toBe(alice.certPem);
    expect(readFileSync(path.join(msp, 'keystore/priv_sk'), 'utf8')).toBe(alice.privateKeyPem);
    expect(mode(path.join(msp, 'keystore/priv_sk'))).toBe(0o600);
    expect(readFileSync(path.join(msp, 'cacerts/ca-cert.pem'), 'utf8')).toBe(readFileSync(path.join(msp, '../../../ca/ca-cert.pem'), 'utf8'));
    expect(readFileSync(path.join(msp, 'config.yaml'), 'utf8')).toContain('OrganizationalUnitIdentifier: client');
  });

  it('issues a certificate that verifies against the org CA, for the private key it holds', () => {
    const cert = new X509Certificate(alice.certPem);
    const ca = new X509Certificate(readFileSync(path.join(root, 'organizations/optimam-stge.fedledger.local/ca/ca-cert.pem')));
    expect(cert.verify(ca.publicKey)).toBe(true);
    expect(cert.checkIssued(ca)).toBe(true);
    expect(cert.ca).toBe(false);
    expect(cert.checkPrivateKey(createPrivateKey(alice.privateKeyPem))).toBe(true);
    expect(createPublicKey(alice.privateKeyPem).export({ format: 'jwk' })).toEqual(cert.publicKey.export({ format: 'jwk' }));
    // Another org's CA did not sign it.
    expect(cert.verify(new X509Certificate(readFileSync(path.join(ub(), 'ca/ca-cert.pem'))).publicKey)).toBe(false);
    expect(cert.subject).toBe('O=optimam-stge.fedledger.local\nOU=client\nCN=alice');
  });

  it('has keyUsage digitalSignature, SKI and an AKI equal to the CA SKI (read with @fidm/x509)', () => {
    const cert = Certificate.fromPEM(Buffer.from(alice.certPem));
    const ca = Certificate.fromPEM(readFileSync(path.join(root, 'organizations/optimam-stge.fedledger.local/ca/ca-cert.pem')));
    expect(cert.keyUsage).toBe(1); // @fidm/x509 numbers bit i of KeyUsage as 1 << i: digitalSignature only
    expect(cert.subjectKeyIdentifier).toMatch(/^[0-9a-f]{40}$/);
    expect(cert.authorityKeyIdentifier).toBe(ca.subjectKeyIdentifier);
  });

  it('encodes the attributes exactly as Fabric CA: OID 1.2.3.4.5.6.7.8.1, not critical, raw JSON as fabric-shim parses it', () => {
    const cert = Certificate.fromPEM(Buffer.from(alice.certPem));
    const extension = cert.extensions.find((ext) => ext.oid === FABRIC_ATTRS_OID);
    expect(FABRIC_ATTRS_OID).toBe('1.2.3.4.5.6.7.8.1');
    expect(extension?.critical).toBe(false);
    // What fabric-shim's ClientIdentity does: extension.value.toString(), JSON.parse, .attrs
    expect(extension?.value.toString()).toBe('{"attrs":{"hf.Affiliation":"optimam-stge","hf.EnrollmentID":"alice","hf.Type":"client","role":"centre"}}');
  });

  it("reads back through fabric-shim's own ClientIdentity: role, MSP id, x509 id", () => {
    const cid = clientIdentity(alice);
    expect(cid.getMSPID()).toBe('OptimamStgeMSP');
    expect(cid.getAttributeValue('role')).toBe('centre');
    expect(cid.assertAttributeValue('hf.EnrollmentID', 'alice')).toBe(true);
    expect(cid.getAttributeValue('missing')).toBeNull();
    expect(cid.getID()).toBe('x509::/O=optimam-stge.fedledger.local/OU=client/CN=alice::/O=optimam-stge.fedledger.local/CN=ca.optimam-stge.fedledger.local');
  });

  it('issues every role, and finds the organisation by its id, mspId or domain in any case', async () => {
    for (const [i, role] of ROLES.entries()) {
      const org = ['UB', 'ubmsp', 'ub.fedledger.local', 'Ub'][i]!;
      const id = await addIdentity(root, { org, user: `${role}-1`, role });
      expect(id).toMatchObject({ org: 'ub', mspId: 'UBMSP', user: `${role}-1`, type: 'client', role });
      expect(clientIdentity(id).getAttributeValue('role')).toBe(role);
    }
    expect(listIdentities(root).find((o) => o.id === 'ub')?.users.map((u) => [u.user, u.role])).toEqual([
      ['Admin', null],
      ['aggregator-1', 'aggregator'],
      ['auditor-1', 'auditor'],
      ['centre-1', 'centre'],
      ['developer-1', 'developer'],
    ]);
  });

  it('refuses an unknown organisation, an existing user, a bad role or a bad name, naming it', async () => {
    await expect(addIdentity(root, { org: 'nowhere', user: 'bob', role: 'auditor' })).rejects.toThrow("unknown organisation 'nowhere' (known: bcdr, cmmd, inbreast, optimam-jarv, optimam-stge, orderer, ub)");
    await expect(addIdentity(root, { org: 'optimam-stge', user: 'alice', role: 'auditor' })).rejects.toThrow("user 'alice' already exists in organisation 'optimam-stge'");
    await expect(addIdentity(root, { org: 'optimam-stge', user: 'ALICE', role: 'auditor' })).rejects.toThrow("user 'alice' already exists");
    await expect(addIdentity(root, { org: 'ub', user: 'admin', role: 'auditor' })).rejects.toThrow("user 'Admin' already exists in organisation 'ub'");
    await expect(addIdentity(root, { org: 'ub', user: 'bob', role: 'superuser' })).rejects.toThrow("role must be one of developer, aggregator, auditor, centre, got 'superuser'");
    for (const user of ['', '../evil', 'a b', '-x', 'x'.repeat(65), 'bob@ub']) {
      await expect(addIdentity(root, { org: 'ub', user, role: 'auditor' })).rejects.toThrow(`user name must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit, got '${user}'`);
    }
    const empty = mkdtempSync(path.join(os.tmpdir(), 'fedledger-identity-empty-'));
    try {
      await expect(addIdentity(empty, { org: 'ub', user: 'bob', role: 'auditor' })).rejects.toThrow(/there are none in .*: run identity init first/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('loadIdentity refuses an unknown user', () => {
    expect(() => loadIdentity(root, 'inbreast', 'nobody')).toThrow("unknown user 'nobody' in organisation 'inbreast' (known: Admin)");
  });
});

test('the roles certificates carry are the roles the chaincode knows (chaincode/ai-passport/src/model.ts)', () => {
  // The chaincode is deployed alone and may import nothing, so each side keeps its list; this keeps them equal.
  const source = readFileSync(path.join(__dirname, '../../../chaincode/ai-passport/src/model.ts'), 'utf8');
  const match = /export const ROLES = \[([^\]]*)\] as const;/.exec(source);
  expect(match).not.toBeNull();
  const chaincodeRoles = [...match![1]!.matchAll(/'([^']+)'/g)].map((m) => m[1]);
  expect([...ROLES]).toEqual(chaincodeRoles);
});

describe('ensureNode', () => {
  it('issues a peer MSP with OU peer and a TLS server certificate for loopback, both from the org CA; idempotent', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'fedledger-node-'));
    try {
      await initOrganisations(dir);
      const node = await ensureNode(dir, { org: 'ub', name: 'peer0', kind: 'peer' });
      expect(node).toMatchObject({ mspId: 'UBMSP', name: 'peer0.ub.fedledger.local', kind: 'peer' });
      const ca = new X509Certificate(readFileSync(path.join(node.mspDir, 'cacerts', 'ca-cert.pem')));
      const signing = new X509Certificate(readFileSync(path.join(node.mspDir, 'signcerts', 'cert.pem')));
      expect(signing.subject).toContain('OU=peer');
      expect(signing.checkIssued(ca) && signing.verify(ca.publicKey)).toBe(true);
      expect(readFileSync(path.join(node.mspDir, 'tlscacerts', 'ca-cert.pem'), 'utf8')).toBe(ca.toString());
      const tls = new X509Certificate(readFileSync(path.join(node.tlsDir, 'server.crt')));
      expect(tls.verify(ca.publicKey)).toBe(true);
      expect(tls.checkIP('127.0.0.1')).toBe('127.0.0.1');
      expect(tls.checkHost('localhost')).toBe('localhost');
      expect(tls.checkHost('peer0.ub.fedledger.local')).toBe('peer0.ub.fedledger.local');
      expect(tls.keyUsage).toEqual(expect.arrayContaining(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']));
      expect(createPublicKey(createPrivateKey(readFileSync(path.join(node.tlsDir, 'server.key')))).export({ format: 'jwk' })).toEqual(tls.publicKey.export({ format: 'jwk' }));
      const again = await ensureNode(dir, { org: 'ub', name: 'peer0', kind: 'peer' });
      expect(readFileSync(path.join(again.tlsDir, 'server.crt'), 'utf8')).toBe(tls.toString());
      const orderer = await ensureNode(dir, { org: 'orderer', name: 'orderer0', kind: 'orderer' });
      expect(new X509Certificate(readFileSync(path.join(orderer.mspDir, 'signcerts', 'cert.pem'))).subject).toContain('OU=orderer');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('update signatures', () => {
  it('verify for the signed task only: another round, experiment, task, digest or example count does not verify', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'fedledger-sig-'));
    try {
      await initOrganisations(dir);
      const centre = await addIdentity(dir, { org: 'inbreast', user: 'agent', role: 'centre' });
      const fields = { experimentId: 'exp-1', round: 3, centreId: 'inbreast', taskId: 'exp-1-r3-a0-inbreast', weightsSha256: 'a'.repeat(64), numExamples: 40 };
      const s = signUpdate(centre, fields);
      expect(s.fingerprint).toMatch(/^[0-9a-f]{64}$/);
      expect(verifyUpdateSignature(dir, fields, s.certPem, s.signature)).toMatchObject({ org: 'inbreast', mspId: 'InbreastMSP' });
      for (const replay of [{ round: 2 }, { experimentId: 'exp-0' }, { taskId: 'exp-1-r3-a1-inbreast' }, { weightsSha256: 'b'.repeat(64) }, { numExamples: 4000 }]) {
        expect(() => verifyUpdateSignature(dir, { ...fields, ...replay }, s.certPem, s.signature)).toThrow(UpdateSignatureError);
      }
      expect(() => verifyUpdateSignature(dir, fields, s.certPem, new Uint8Array())).toThrow('update from centre inbreast is not signed');
      expect(() => verifyUpdateSignature(dir, { ...fields, centreId: 'nowhere' }, s.certPem, s.signature)).toThrow('no organisation nowhere is known here');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('request signatures', () => {
  let dir: string;
  let other: string;
  let dev: Identity;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'fedledger-req-'));
    other = mkdtempSync(path.join(os.tmpdir(), 'fedledger-req-other-'));
    await initOrganisations(dir);
    await initOrganisations(other);
    dev = await addIdentity(dir, { org: 'ub', user: 'dev-1', role: 'developer' });
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(other, { recursive: true, force: true });
  });
  const request = { method: 'POST', path: '/experiments/e1/start', body: Buffer.from('{"reason":"x"}') };

  it('names the signer (organisation, user, role, admin or not) of a request signed now', () => {
    const now = Date.now();
    expect(verifyRequestSignature(dir, request, signRequest(dev, request, now), now)).toMatchObject({ org: 'ub', mspId: 'UBMSP', user: 'dev-1', role: 'developer', type: 'client', timestampMs: now });
    const admin = loadIdentity(dir, 'inbreast', 'Admin');
    expect(verifyRequestSignature(dir, request, signRequest(admin, request, now), now)).toMatchObject({ org: 'inbreast', user: 'Admin', type: 'admin', role: null });
  });

  it('holds for that method, path, time and body only', () => {
    const now = Date.now();
    const headers = signRequest(dev, request, now);
    for (const changed of [{ method: 'GET' }, { path: '/experiments/e2/start' }, { path: '/experiments/e1/start?x=1' }, { body: Buffer.from('{"reason":"y"}') }]) {
      expect(() => verifyRequestSignature(dir, { ...request, ...changed }, headers, now)).toThrow(/the signature does not match this method, path, time and body \(signed by UBMSP\/dev-1\)/);
    }
    expect(() => verifyRequestSignature(dir, request, { ...headers, [REQUEST_HEADERS.timestamp]: String(now + 1) }, now)).toThrow('the signature does not match');
  });

  it('refuses with the reason: unsigned, a certificate of an organisation not known here, an old timestamp, garbage', async () => {
    const now = Date.now();
    const headers = signRequest(dev, request, now);
    expect(() => verifyRequestSignature(dir, request, {}, now)).toThrow(`request POST /experiments/e1/start is not signed: header ${REQUEST_HEADERS.certificate} is missing`);
    const stranger = await addIdentity(other, { org: 'ub', user: 'dev-1', role: 'developer' });
    expect(() => verifyRequestSignature(dir, request, signRequest(stranger, request, now), now)).toThrow(/is signed by .*CN=dev-1, not by an identity of an organisation known here/);
    expect(() => verifyRequestSignature(dir, request, headers, now + 6 * 60_000)).toThrow(/more than 5 minutes from this service's clock/);
    expect(() => verifyRequestSignature(dir, request, { ...headers, [REQUEST_HEADERS.timestamp]: 'yesterday' }, now)).toThrow("must be milliseconds since the epoch, got 'yesterday'");
    expect(() => verifyRequestSignature(dir, request, { ...headers, [REQUEST_HEADERS.certificate]: 'bm90IGEgY2VydA==' }, now)).toThrow('its signer certificate is not a valid X.509 certificate');
    expect(() => verifyRequestSignature(dir, request, { ...headers, [REQUEST_HEADERS.signature]: ['a', 'b'] }, now)).toThrow(RequestSignatureError);
  });
});
