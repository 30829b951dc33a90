"""ServerApp: FedAvg over every SuperNode for R rounds, timing each round on the server side.

A round is timed from the moment the strategy starts configuring it (configure_train: sampling the nodes and
building the messages, just before Grid.send_and_receive pushes them) to the end of aggregate_train (the new
global ArrayRecord exists). Federated evaluation is off (fraction_evaluate = 0), so the evaluate phase Flower
runs after each round only pushes an empty batch; the strategy's own wall time is recorded as the total.
The timings go to the JSON file named by the `timings-file` run-config key (round_overhead.py reads it).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable
from logging import INFO

import numpy as np
from flwr.app import Array, ArrayRecord, ConfigRecord, Context, Message, MetricRecord
from flwr.common import log
from flwr.serverapp import Grid, ServerApp
from flwr.serverapp.strategy import FedAvg

app = ServerApp()


def initial_arrays(params: int, seed: int = 42) -> ArrayRecord:
    """A float32 model of `params` parameters: a kernel of params-100 and a bias of 100 (as Fedledger's)."""
    bias = min(100, max(1, params // 100))
    kernel = max(1, params - bias)
    rng = np.random.default_rng(seed)
    record = ArrayRecord()
    record["kernel"] = Array(((rng.random(kernel, dtype=np.float32) - 0.5) * 0.1).astype(np.float32))
    record["bias"] = Array(((rng.random(bias, dtype=np.float32) - 0.5) * 0.1).astype(np.float32))
    return record


class TimedFedAvg(FedAvg):
    """FedAvg that records, per round, configure_train start and aggregate_train end (perf_counter)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.started: dict[int, float] = {}
        self.started_wall: dict[int, float] = {}
        self.created: dict[int, list[float]] = {}  # when each reply was created by its ClientApp (s after start)
        self.ended: dict[int, float] = {}
        self.replies: dict[int, int] = {}
        self.errors: dict[int, int] = {}

    def configure_train(
        self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid
    ) -> Iterable[Message]:
        self.started[server_round] = time.perf_counter()
        self.started_wall[server_round] = time.time()
        return super().configure_train(server_round, arrays, config, grid)

    def aggregate_train(
        self, server_round: int, replies: Iterable[Message]
    ) -> tuple[ArrayRecord | None, MetricRecord | None]:
        replies = list(replies)
        self.replies[server_round] = len(replies)
        self.errors[server_round] = sum(1 for m in replies if m.has_error())
        t0 = self.started_wall[server_round]
        self.created[server_round] = sorted(m.metadata.created_at - t0 for m in replies)
        result = super().aggregate_train(server_round, replies)
        self.ended[server_round] = time.perf_counter()
        return result


@app.main()
def main(grid: Grid, context: Context) -> None:
    cfg = context.run_config
    rounds = int(cfg["num-server-rounds"])
    params = int(cfg["num-params"])
    nodes = int(cfg["num-nodes"])
    timings_file = str(cfg["timings-file"])
    wait_nodes_s = float(cfg["wait-nodes-s"])
    round_timeout_s = float(cfg["round-timeout-s"])

    # Every SuperNode must be connected before round 1, so that round 1 does not include start-up.
    deadline = time.monotonic() + wait_nodes_s
    while (connected := len(list(grid.get_node_ids()))) < nodes:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {connected} of {nodes} SuperNodes connected after {wait_nodes_s} s")
        time.sleep(0.2)
    log(INFO, "round-overhead: %d SuperNodes connected, %d rounds of %d parameters", nodes, rounds, params)

    strategy = TimedFedAvg(
        fraction_train=1.0,
        fraction_evaluate=0.0,
        min_train_nodes=nodes,
        min_available_nodes=nodes,
    )
    arrays = initial_arrays(params)
    t0 = time.perf_counter()
    result = strategy.start(grid=grid, initial_arrays=arrays, num_rounds=rounds, timeout=round_timeout_s)
    total_ms = (time.perf_counter() - t0) * 1000

    final = result.arrays
    round_ms = [
        (strategy.ended[r] - strategy.started[r]) * 1000 if r in strategy.ended and r in strategy.started else None
        for r in range(1, rounds + 1)
    ]
    out = {
        "roundMs": round_ms,
        "totalMs": total_ms,
        "replies": [strategy.replies.get(r, 0) for r in range(1, rounds + 1)],
        "errors": [strategy.errors.get(r, 0) for r in range(1, rounds + 1)],
        # diagnostics: seconds after the round started at which the ClientApps created their replies
        "replyCreatedS": [[round(t, 2) for t in strategy.created.get(r, [])] for r in range(1, rounds + 1)],
        "finalParams": int(sum(a.numpy().size for a in final.values())) if final is not None else 0,
    }
    log(INFO, "round-overhead: %s", json.dumps(out))
    if timings_file:
        tmp = f"{timings_file}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(out, f)
        os.replace(tmp, timings_file)
