import { generateKeyPairSync } from 'node:crypto';
import net from 'node:net';
import { FabricLedger, LedgerError, signProposal } from '../src';

/**
 * The Fabric gateway without a Fabric network: what a caller sees when the peer is not there. Its run against a
 * real peer (orderer + peer binaries, the chaincode installed) belongs to the Fabric network issue.
 */
const key = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const identity = { mspId: 'UBMSP', certPem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n', privateKeyPem: key };

/** A loopback port nobody listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('FabricLedger', () => {
  it('names the peer that does not answer, as a LedgerError UNAVAILABLE', async () => {
    const endpoint = `127.0.0.1:${await closedPort()}`;
    const ledger = new FabricLedger({ peerEndpoint: endpoint, timeoutsMs: { evaluate: 1_000, endorse: 1_000 } });
    try {
      const failure = await ledger.evaluate(identity, 'passport:Read', ['p-1']).catch((err: unknown) => err);
      expect(failure).toBeInstanceOf(LedgerError);
      expect(failure).toMatchObject({ code: 'UNAVAILABLE', message: expect.stringContaining(`the Fabric peer at ${endpoint} did not answer`) });
      await expect(ledger.submit(identity, 'passport:Create', ['{}'])).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    } finally {
      await ledger.close();
    }
  }, 20_000);

  it('refuses what it cannot do yet with the reason, and everything once closed', async () => {
    const ledger = new FabricLedger({ peerEndpoint: `127.0.0.1:${await closedPort()}` });
    await expect(ledger.submitSigned(signProposal(identity, 'passport:Read', ['p-1']))).rejects.toMatchObject({ code: 'NOT_SUPPORTED', message: expect.stringContaining("Fabric's three-step offline signing") });
    const events = ledger.events()[Symbol.asyncIterator]();
    await expect(events.next()).rejects.toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('eventReader') });
    await ledger.close();
    await expect(ledger.evaluate(identity, 'passport:Read', ['p-1'])).rejects.toMatchObject({ code: 'CLOSED' });
  });
});
