"""Reference vectors for libs/fl-core/src/strategies, computed by Flower itself.

Regenerate (from the repository root; creates bench/.venv on first use):

    bash bench/flower/make-vectors.sh

Writes libs/fl-core/test/vectors/<strategy>.json. Every case calls a Flower strategy class's
`aggregate_fit` (which calls the functions of flwr/server/strategy/aggregate.py) on small seeded inputs, so
the TypeScript tests compare against what Flower does, not against a re-derivation of it.

Precision: Flower computes in the dtype of the arrays it is given (numpy 2 / NEP 50 keeps float32 * int in
float32). fl-core receives float32 tensors but accumulates in float64, so the inputs here are float32 values
(drawn as float32, then widened) handed to Flower as float64 arrays: Flower's float64 path is the reference.
For comparison the script also runs every one-shot case with the float32 arrays and prints how far Flower's
own float32 path is from its float64 path.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import flwr
import numpy as np
from flwr.common import Code, FitRes, Status, ndarrays_to_parameters, parameters_to_ndarrays
from flwr.server.strategy import (
    Bulyan,
    FedAdagrad,
    FedAdam,
    FedAvg,
    FedAvgM,
    FedMedian,
    FedProx,
    FedTrimmedAvg,
    FedYogi,
    Krum,
)

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "libs" / "fl-core" / "test" / "vectors"
SHAPES = [(2, 3), (4,)]  # two tensors; flattened row-major in the JSON
FLWR = flwr.__version__ if hasattr(flwr, "__version__") else "unknown"

float32_path_gaps: list[tuple[str, float]] = []


def f32(a: np.ndarray) -> np.ndarray:
    """Float32 values, widened to float64 (exactly representable in both)."""
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def model(rng: np.random.Generator, centre: float = 0.0, spread: float = 1.0) -> list[np.ndarray]:
    return [f32(centre + spread * rng.standard_normal(s)) for s in SHAPES]


def fit_results(updates: list[tuple[list[np.ndarray], int]]) -> list[tuple[None, FitRes]]:
    ok = Status(code=Code.OK, message="")
    return [(None, FitRes(status=ok, parameters=ndarrays_to_parameters(w), num_examples=n, metrics={})) for w, n in updates]


def flat(ws: list[np.ndarray]) -> list[list[float]]:
    return [[float(x) for x in np.asarray(w, dtype=np.float64).ravel()] for w in ws]


def updates_json(updates: list[tuple[list[np.ndarray], int]]) -> list[dict[str, Any]]:
    return [{"num_examples": n, "tensors": flat(w)} for w, n in updates]


def one_shot(name: str, source: str, params: dict[str, Any], make: Callable[[], Any],
             updates: list[tuple[list[np.ndarray], int]]) -> dict[str, Any]:
    """Runs `make().aggregate_fit(1, ...)` on float64 inputs (the vector) and on float32 ones (for the report)."""
    out, _ = make().aggregate_fit(1, fit_results(updates), [])
    expected = parameters_to_ndarrays(out)
    as32 = [([w.astype(np.float32) for w in ws], n) for ws, n in updates]
    out32, _ = make().aggregate_fit(1, fit_results(as32), [])
    gap = max(
        float(np.max(np.abs(a.astype(np.float64) - b) / np.maximum(np.abs(b), 1e-30)))
        for a, b in zip(parameters_to_ndarrays(out32), expected)
    )
    float32_path_gaps.append((name, gap))
    return {"name": name, "source": source, "params": params, "updates": updates_json(updates), "expected": flat(expected)}


def honest(rng: np.random.Generator, n: int, base: list[np.ndarray], noise: float) -> list[list[np.ndarray]]:
    return [[f32(b + noise * rng.standard_normal(b.shape)) for b in base] for _ in range(n)]


def examples(rng: np.random.Generator, n: int) -> list[int]:
    return [int(x) for x in rng.integers(1, 5000, size=n)]


def write(strategy: str, source: str, cases: list[dict[str, Any]]) -> None:
    doc = {
        "strategy": strategy,
        "source": source,
        "flwr_version": FLWR,
        "numpy_version": np.__version__,
        "generated_by": "bash bench/flower/make-vectors.sh (bench/flower/make_vectors.py)",
        "tensor_shapes": [list(s) for s in SHAPES],
        "cases": cases,
    }
    text = json.dumps(doc, indent=2)
    # one line per numeric array keeps the files readable and diffable
    text = re.sub(r"\[\s*([-0-9.eE+]+(?:,\s*[-0-9.eE+]+)*)\s*\]",
                  lambda m: "[" + ", ".join(x.strip() for x in m.group(1).split(",")) + "]", text)
    (OUT / f"{strategy}.json").write_text(text + "\n")


# ---------------------------------------------------------------------------------------------------------
def fedavg() -> None:
    cases = []
    for seed, n in [(1, 3), (2, 5), (3, 9)]:
        rng = np.random.default_rng(seed)
        ups = list(zip([model(rng) for _ in range(n)], examples(rng, n)))
        cases.append(one_shot(f"{n} centres, seed {seed}", "FedAvg().aggregate_fit -> aggregate.aggregate_inplace", {},
                              lambda: FedAvg(), ups))
        cases.append(one_shot(f"{n} centres, seed {seed}, inplace=False", "FedAvg(inplace=False).aggregate_fit -> aggregate.aggregate",
                              {}, lambda: FedAvg(inplace=False), ups))
    write("fedavg", f"flwr {FLWR} flwr.server.strategy.FedAvg.aggregate_fit (aggregate.aggregate_inplace / aggregate.aggregate)", cases)


def fedprox() -> None:
    cases = []
    for seed, n, mu in [(11, 4, 0.1), (12, 6, 1.0)]:
        rng = np.random.default_rng(seed)
        ups = list(zip([model(rng) for _ in range(n)], examples(rng, n)))
        cases.append(one_shot(f"{n} centres, proximal_mu {mu}", f"FedProx(proximal_mu={mu}).aggregate_fit (= FedAvg.aggregate_fit)",
                              {"proximal_mu": mu}, lambda: FedProx(proximal_mu=mu), ups))
    write("fedprox", f"flwr {FLWR} flwr.server.strategy.FedProx.aggregate_fit (inherited from FedAvg)", cases)


def fedmedian() -> None:
    cases = []
    for seed, n in [(21, 3), (22, 4), (23, 7), (24, 8)]:
        rng = np.random.default_rng(seed)
        base = model(rng)
        ws = honest(rng, n, base, 0.1)
        ws[0] = [f32(b + 40.0) for b in base]  # one outlier
        ups = list(zip(ws, examples(rng, n)))
        cases.append(one_shot(f"{n} centres ({'odd' if n % 2 else 'even'}), one outlier", "FedMedian().aggregate_fit -> aggregate.aggregate_median",
                              {}, lambda: FedMedian(), ups))
    write("fedmedian", f"flwr {FLWR} flwr.server.strategy.FedMedian.aggregate_fit (aggregate.aggregate_median)", cases)


def fedtrimmedavg() -> None:
    cases = []
    for seed, n, beta in [(31, 5, 0.2), (32, 5, 0.1), (33, 8, 0.25), (34, 7, 0.3), (35, 9, None)]:
        rng = np.random.default_rng(seed)
        base = model(rng)
        ws = honest(rng, n, base, 0.2)
        ws[1] = [f32(-25.0 * b) for b in base]  # one outlier
        ups = list(zip(ws, examples(rng, n)))
        params = {} if beta is None else {"beta": beta}
        label = "default beta 0.2" if beta is None else f"beta {beta}"
        cases.append(one_shot(f"{n} centres, {label}, one outlier", f"FedTrimmedAvg({'' if beta is None else f'beta={beta}'}).aggregate_fit -> aggregate.aggregate_trimmed_avg",
                              params, (lambda b=beta: FedTrimmedAvg() if b is None else FedTrimmedAvg(beta=b)), ups))
    write("fedtrimmedavg", f"flwr {FLWR} flwr.server.strategy.FedTrimmedAvg.aggregate_fit (aggregate.aggregate_trimmed_avg)", cases)


def krum_cases(multi: bool) -> list[dict[str, Any]]:
    cases = []
    grid = [(41, 5, 1, 2), (42, 7, 2, 3), (43, 9, 1, 4), (44, 6, 0, 2)] if multi else [(41, 5, 1, 0), (42, 7, 2, 0), (43, 9, 1, 0), (44, 3, 0, 0)]
    for seed, n, f, keep in grid:
        rng = np.random.default_rng(seed)
        base = model(rng)
        ws = honest(rng, n, base, 0.3)
        for k in range(f):  # the f malicious centres send far-away models
            ws[n - 1 - k] = [f32(b + 10.0 * (k + 1) * rng.standard_normal(b.shape)) for b in base]
        ups = list(zip(ws, examples(rng, n)))
        params = {"num_malicious_clients": f}
        if multi:
            params["num_clients_to_keep"] = keep
        src = f"Krum(num_malicious_clients={f}, num_clients_to_keep={keep}).aggregate_fit -> aggregate.aggregate_krum"
        cases.append(one_shot(f"{n} centres, f={f}" + (f", keep {keep}" if multi else "") + f", {f} outlier(s)", src, params,
                              lambda: Krum(num_malicious_clients=f, num_clients_to_keep=keep), ups))
    return cases


def krum() -> None:
    write("krum", f"flwr {FLWR} flwr.server.strategy.Krum.aggregate_fit with num_clients_to_keep=0 (aggregate.aggregate_krum)", krum_cases(False))


def multikrum() -> None:
    write("multikrum", f"flwr {FLWR} flwr.server.strategy.Krum.aggregate_fit with num_clients_to_keep>0 (aggregate.aggregate_krum, MultiKrum branch)",
          krum_cases(True))


def bulyan() -> None:
    cases = []
    for seed, n, f in [(51, 7, 1), (52, 9, 1), (53, 11, 2), (54, 4, 0)]:
        rng = np.random.default_rng(seed)
        base = model(rng)
        ws = honest(rng, n, base, 0.3)
        for k in range(f):
            ws[k] = [f32(b + 8.0 * (k + 1) * rng.standard_normal(b.shape)) for b in base]
        ups = list(zip(ws, examples(rng, n)))
        # Flower's Bulyan forwards **aggregation_rule_kwargs to aggregate_krum, whose to_keep has no default
        cases.append(one_shot(f"{n} centres, f={f}, {f} outlier(s)", f"Bulyan(num_malicious_clients={f}, to_keep=0).aggregate_fit -> aggregate.aggregate_bulyan(aggregate_krum)",
                              {"num_malicious_clients": f}, lambda: Bulyan(num_malicious_clients=f, to_keep=0), ups))
    write("bulyan", f"flwr {FLWR} flwr.server.strategy.Bulyan.aggregate_fit (aggregate.aggregate_bulyan with aggregate_krum)", cases)


def multi_round(name: str, source: str, params: dict[str, Any], make: Callable[[Any], Any], seed: int, centres: list[int],
                rounds: int = 3) -> dict[str, Any]:
    """Runs one strategy object over `rounds` rounds; each centre's model moves from the current global."""
    rng = np.random.default_rng(seed)
    current = model(rng)
    strategy = make(ndarrays_to_parameters(current))
    out_rounds = []
    for r in range(1, rounds + 1):
        n = centres[(r - 1) % len(centres)]
        ws = [[f32(c + 0.05 + 0.2 * rng.standard_normal(c.shape)) for c in current] for _ in range(n)]
        ups = list(zip(ws, examples(rng, n)))
        out, _ = strategy.aggregate_fit(r, fit_results(ups), [])
        new = parameters_to_ndarrays(out)
        out_rounds.append({"round": r, "current": flat(current), "updates": updates_json(ups), "expected": flat(new)})
        current = new  # Flower hands the returned parameters to the next round
    return {"name": name, "source": source, "params": params, "initial": out_rounds[0]["current"], "rounds": out_rounds}


def fedavgm() -> None:
    cases = [
        multi_round("momentum 0.9, lr 1.0", "FedAvgM(server_momentum=0.9).aggregate_fit", {"server_momentum": 0.9},
                    lambda p: FedAvgM(initial_parameters=p, server_momentum=0.9), 61, [3, 5, 4]),
        multi_round("momentum 0.5, lr 0.7", "FedAvgM(server_learning_rate=0.7, server_momentum=0.5).aggregate_fit",
                    {"server_learning_rate": 0.7, "server_momentum": 0.5},
                    lambda p: FedAvgM(initial_parameters=p, server_learning_rate=0.7, server_momentum=0.5), 62, [4, 6]),
        multi_round("lr 0.5, no momentum", "FedAvgM(server_learning_rate=0.5).aggregate_fit", {"server_learning_rate": 0.5},
                    lambda p: FedAvgM(initial_parameters=p, server_learning_rate=0.5), 63, [3]),
        multi_round("defaults (plain FedAvg)", "FedAvgM().aggregate_fit", {}, lambda p: FedAvgM(initial_parameters=p), 64, [5], rounds=2),
    ]
    write("fedavgm", f"flwr {FLWR} flwr.server.strategy.FedAvgM.aggregate_fit (aggregate.aggregate, then server SGD with momentum)", cases)


def fedopt(kind: str, cls: Any, grid: list[tuple[str, dict[str, Any], int, list[int]]]) -> None:
    cases = []
    for label, params, seed, centres in grid:
        args = ", ".join(f"{k}={v}" for k, v in params.items())
        cases.append(multi_round(label, f"{cls.__name__}({args}).aggregate_fit", params,
                                 lambda p, kw=params: cls(initial_parameters=p, **kw), seed, centres))
    write(kind, f"flwr {FLWR} flwr.server.strategy.{cls.__name__}.aggregate_fit (FedAvg.aggregate_fit -> aggregate_inplace, then the server optimiser)", cases)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    fedavg()
    fedprox()
    fedmedian()
    fedtrimmedavg()
    krum()
    multikrum()
    bulyan()
    fedavgm()
    fedopt("fedadam", FedAdam, [("defaults", {}, 71, [3, 5, 4]),
                                ("eta 0.05, beta_1 0.8, beta_2 0.95, tau 0.001", {"eta": 0.05, "beta_1": 0.8, "beta_2": 0.95, "tau": 0.001}, 72, [4, 6])])
    fedopt("fedyogi", FedYogi, [("defaults", {}, 81, [3, 5, 4]),
                                ("eta 0.1, beta_1 0.5, beta_2 0.9, tau 1e-6", {"eta": 0.1, "beta_1": 0.5, "beta_2": 0.9, "tau": 1e-6}, 82, [4, 6])])
    fedopt("fedadagrad", FedAdagrad, [("defaults", {}, 91, [3, 5, 4]),
                                      ("eta 0.3, tau 0.01", {"eta": 0.3, "tau": 0.01}, 92, [4, 6])])
    worst = max(float32_path_gaps, key=lambda g: g[1])
    print(f"wrote {len(list(OUT.glob('*.json')))} vector files to {OUT.relative_to(ROOT)} (flwr {FLWR}, numpy {np.__version__})")
    print(f"Flower's float32-input path vs its float64 path: largest relative gap {worst[1]:.3g} ({worst[0]})", file=sys.stderr)


if __name__ == "__main__":
    main()
