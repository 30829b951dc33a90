"""ClientApp that does not train: it returns the received arrays plus a tiny deterministic perturbation.

Mirrors Fedledger's `noop` trainer (libs/training/src/noop-trainer.ts): uniform noise in
[-amplitude/2, amplitude/2) with amplitude 1e-3, seeded by (run, round, partition), so every reply differs
(no content-addressed deduplication of identical replies), and num-examples = 100.
"""

from __future__ import annotations

import zlib

import numpy as np
from flwr.app import Array, ArrayRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp

AMPLITUDE = np.float32(1e-3)
NUM_EXAMPLES = 100

app = ClientApp()


@app.train()
def train(msg: Message, context: Context) -> Message:
    received: ArrayRecord = msg.content["arrays"]
    server_round = int(msg.content["config"]["server-round"])
    partition = int(context.node_config.get("partition-id", 0))
    seed = zlib.crc32(f"{context.run_id}/{server_round}/{partition}".encode())
    rng = np.random.default_rng(seed)

    out = ArrayRecord()
    for key, array in received.items():
        weights = array.numpy()
        noise = rng.random(weights.shape, dtype=np.float32)
        noise -= np.float32(0.5)
        noise *= AMPLITUDE
        noise += weights
        out[key] = Array(noise)

    content = RecordDict({"arrays": out, "metrics": MetricRecord({"num-examples": NUM_EXAMPLES})})
    return Message(content=content, reply_to=msg)
