import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BLOCK_FILE, BlockFile, GENESIS_PREVIOUS_HASH, makeBlock, type BlockTransaction } from '@fedledger/ledger';
import { fedledger } from './run-cli';

const tx = (n: number): BlockTransaction => ({
  txId: `tx${n}`,
  creator: { mspId: 'UBMSP', certPem: 'cert' },
  txName: 'passport:Create',
  timestamp: new Date(Date.UTC(2026, 10, 27, 12, 0, n)).toISOString(),
  validationCode: 'VALID',
  rwset: { reads: [], writes: [{ key: `p-${n}`, value: Buffer.from(`{"id":"p-${n}"}`).toString('base64'), isDelete: false }] },
  events: [],
});

test('fedledger ledger verify: an intact chain passes; one flipped byte names the block', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fedledger-ledger-cli-'));
  try {
    const file = new BlockFile(dir);
    file.lock('the test', 0);
    let previous = GENESIS_PREVIOUS_HASH;
    for (let n = 0; n < 3; n++) {
      const block = makeBlock(n, previous, [tx(n)]);
      file.append(block);
      previous = block.hash;
    }
    file.close();
    const ok = await fedledger(['ledger', 'verify', '--ledger-dir', dir]);
    expect(ok).toMatchObject({ code: 0 });
    expect(ok.stdout).toContain('3 blocks, chain intact');

    // flip one byte inside block 1's transaction
    const blocks = path.join(dir, BLOCK_FILE);
    const text = readFileSync(blocks, 'utf8');
    const at = text.indexOf('"key":"p-1"') + '"key":"'.length;
    writeFileSync(blocks, text.slice(0, at) + 'q' + text.slice(at + 1));
    const bad = await fedledger(['ledger', 'verify', '--ledger-dir', dir, '--json']);
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout)).toMatchObject({ ok: false, block: 1, reason: expect.stringContaining('dataHash') });

    const missing = await fedledger(['ledger', 'verify', '--ledger-dir', path.join(dir, 'nothing')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no embedded ledger at');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
