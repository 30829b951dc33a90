import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { EventRecord } from '@fedledger/contracts';
import { encodeWeights, type WeightTensor } from '@fedledger/fl-core';
import { Federation, type FederationOptions } from './federation';
import type { BlobRef } from '@fedledger/messaging';

export interface TestFederation {
  federation: Federation;
  /** Stores weights as the initial global model and returns their reference. */
  putWeights(tensors: WeightTensor[]): Promise<BlobRef>;
  /** Creates and starts an experiment (plan fields as the REST API takes them). */
  run(plan: Record<string, unknown>): Promise<string>;
  /** Events of an experiment so far and as they come, collected in order; `until` resolves when one matches. */
  watch(experimentId: string): { events: EventRecord[]; until(match: (e: EventRecord) => boolean, timeoutMs?: number): Promise<EventRecord> };
  stop(): Promise<void>;
}

/** A Federation in a temp dir for one test file; logs are kept (and printed) when a test fails. */
export async function startTestFederation(o: Omit<FederationOptions, 'dir'>): Promise<TestFederation> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'fedledger-fed-'));
  const federation = await Federation.start({ ...o, dir });
  return {
    federation,
    putWeights: async (tensors) => (await federation.blobStore()).put(encodeWeights(tensors)),
    run: async (plan) => {
      const id = String(plan.id);
      await federation.api('/experiments', plan);
      await federation.api(`/experiments/${id}/start`);
      return id;
    },
    watch: (experimentId) => {
      const events: EventRecord[] = [];
      const waiters: { match: (e: EventRecord) => boolean; resolve: (e: EventRecord) => void }[] = [];
      void (async () => {
        for await (const e of federation.events(experimentId)) {
          events.push(e);
          for (const w of waiters.slice()) {
            if (w.match(e)) {
              waiters.splice(waiters.indexOf(w), 1);
              w.resolve(e);
            }
          }
        }
      })().catch(() => undefined);
      return {
        events,
        until: (match, timeoutMs = 60_000) =>
          new Promise<EventRecord>((resolve, reject) => {
            const seen = events.find(match);
            if (seen) return resolve(seen);
            const timer = setTimeout(() => reject(new Error(`no matching event within ${timeoutMs} ms; events so far:\n${events.map((e) => JSON.stringify(e)).join('\n')}\nlogs in ${federation.logDir}`)), timeoutMs);
            waiters.push({ match, resolve: (e) => (clearTimeout(timer), resolve(e)) });
          }),
      };
    },
    stop: async () => {
      await federation.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
