// Blob store throughput against the nats.js Object Store client and raw JetStream publish,
// on one nats-server started for the run (file storage, loopback).
import { parseArgs } from 'node:util';
import { cpus, totalmem } from 'node:os';
import { Objm } from '@nats-io/obj';
import type { PubAck } from '@nats-io/jetstream';
import { startNats } from '@fedledger/testing';
import { BlobStore, JetStreamConnection, provisionStream } from '@fedledger/messaging';

const MiB = 1024 * 1024;
const log = (s: string) => process.stderr.write(`[bench blob] ${s}\n`);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const { values } = parseArgs({ args, options: { 'size-mb': { type: 'string', default: '100' }, repeats: { type: 'string', default: '5' }, window: { type: 'string', default: '8' }, 'chunk-kb': { type: 'string' } } });
  const sizeMB = Number(values['size-mb']);
  const repeats = Number(values.repeats);
  const window = Number(values.window);
  const chunkBytes = values['chunk-kb'] ? Number(values['chunk-kb']) * 1024 : undefined;
  const size = sizeMB * MiB;
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i += 4096) data[i] = (i * 2654435761) >>> 24; // not all zeros, cheap

  log(`starting nats-server (file storage) for a ${sizeMB} MiB payload, ${repeats} repeats`);
  const nats = await startNats();
  const connection = await JetStreamConnection.connect({ servers: nats.url, name: 'bench-blob' });
  try {
    // Raw JetStream publish of 1 MiB messages with as many bytes awaiting acks as the blob store.
    await provisionStream(connection.jsm, { name: 'RAW', subjects: ['raw.>'] });
    const rawPublish = async (r: number): Promise<number> => {
      const s = await timed(async () => {
        const acks: Promise<PubAck>[] = [];
        for (let o = 0; o < size; o += MiB) {
          acks.push(connection.js.publish(`raw.${r}`, data.subarray(o, o + MiB)));
          if (acks.length >= window) await acks.shift();
        }
        await Promise.all(acks);
      });
      await connection.jsm.streams.purge('RAW');
      return sizeMB / s;
    };
    const store = await BlobStore.open(connection, { stream: 'BENCH_BLOBS', subjectPrefix: 'bench.blobs', scope: 'bench', windowBytes: window * MiB, maxBlobBytes: 4 * size, ...(chunkBytes ? { chunkBytes } : {}) });
    const blobPutGet = async (): Promise<[number, number]> => {
      let ref = { blobId: '', sha256: '', sizeBytes: 0 };
      const ps = await timed(async () => {
        ref = await store.put(data);
      });
      const gs = await timed(async () => {
        let n = 0;
        for await (const chunk of store.get(ref)) n += chunk.length;
        if (n !== size) throw new Error(`blob store returned ${n} bytes, expected ${size}`);
      });
      await store.delete(ref.blobId);
      return [sizeMB / ps, sizeMB / gs];
    };
    const os = await new Objm(connection.js).create('bench');
    const objectStorePutGet = async (r: number): Promise<[number, number]> => {
      const ps = await timed(async () => {
        await os.putBlob({ name: `o${r}` }, data);
      });
      const gs = await timed(async () => {
        const back = await os.getBlob(`o${r}`);
        if (!back || back.length !== size) throw new Error('object store returned the wrong size');
      });
      await os.delete(`o${r}`);
      return [sizeMB / ps, sizeMB / gs];
    };

    // Interleaved, after one discarded warm-up round, so JIT warm-up and machine noise fall on all three alike.
    const raw: number[] = [];
    const put: number[] = [];
    const get: number[] = [];
    const osPut: number[] = [];
    const osGet: number[] = [];
    for (let r = 0; r <= repeats; r++) {
      // Let the server finish writing and purging before each measurement.
      const settle = () => new Promise((res) => setTimeout(res, 300));
      await settle();
      const rp = await rawPublish(r);
      await settle();
      const [p, g] = await blobPutGet();
      await settle();
      const [op, og] = await objectStorePutGet(r);
      if (r === 0) {
        log('warm-up round done');
        continue;
      }
      raw.push(rp);
      put.push(p);
      get.push(g);
      osPut.push(op);
      osGet.push(og);
      log(`round ${r}/${repeats}: raw publish ${rp.toFixed(0)} MB/s | blob store put ${p.toFixed(0)}, get ${g.toFixed(0)} MB/s | object store put ${op.toFixed(0)}, get ${og.toFixed(0)} MB/s`);
    }

    const round = (x: number) => Math.round(x * 10) / 10;
    const rawPublishMBps = round(median(raw));
    const putMBps = round(median(put));
    const getMBps = round(median(get));
    return {
      bench: 'blob',
      sizeMB,
      putMBps,
      getMBps,
      objectStorePutMBps: round(median(osPut)),
      objectStoreGetMBps: round(median(osGet)),
      rawPublishMBps,
      putVsRaw: round(putMBps / rawPublishMBps),
      getVsRaw: round(getMBps / rawPublishMBps),
      repeats,
      windowMiB: window,
      chunkKiB: store.chunkKiB,
      machine: { cpus: cpus().length, memGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
    };
  } finally {
    await connection.drain();
    await nats.stop();
  }
}
