"""PyTorch reference for `npm run bench -- train`: the small CNN of libs/training/src/models/small-cnn.ts, trained on
the CPU with the same batch, optimiser and input size, so the WebAssembly figure has a native one beside it.

    bash bench/torch/train_small_cnn.sh --input-size 64 --threads 1

Prints one JSON line on stdout: {"imgsPerSec": ..., "threads": ..., "torch": ..., "params": ..., ...}; progress on stderr.
"""

import argparse
import json
import sys
import time

import torch
from torch import nn


def small_cnn(classes: int) -> nn.Module:
    """conv3x3 16/32/64 ReLU 'same', 2x2 max pooling after the first two, global max pooling, dense softmax
    (the softmax is inside CrossEntropyLoss). 23 426 parameters for one channel and two classes, as in tfjs."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(),
        nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(64, classes),
    )


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--input-size", type=int, default=64)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--classes", type=int, default=2)
    p.add_argument("--threads", type=int, default=1, help="intra-op threads; the tfjs wasm backend uses 1 in Node")
    p.add_argument("--warmup", type=int, default=5, help="batches trained before timing")
    p.add_argument("--seconds", type=float, default=5.0, help="time at least this long (and at least 10 batches)")
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    model = small_cnn(a.classes)
    params = sum(t.numel() for t in model.parameters())
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.randn(a.batch, 1, a.input_size, a.input_size)
    y = torch.arange(a.batch) % a.classes

    def step() -> float:
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(a.warmup):
        step()
    batches = 0
    t0 = time.perf_counter()
    cpu0 = time.process_time()  # CPU time of all the process' threads: steadier than wall time on a shared machine
    while batches < 10 or time.perf_counter() - t0 < a.seconds:
        step()
        batches += 1
    elapsed = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    imgs = batches * a.batch / elapsed
    print(f"[torch] {batches} batches of {a.batch} at {a.input_size}x{a.input_size} in {elapsed:.2f} s: {imgs:.0f} images/s "
          f"on {torch.get_num_threads()} thread(s)", file=sys.stderr)
    print(json.dumps({
        "imgsPerSec": round(imgs, 1), "imgsPerCpuSec": round(batches * a.batch / cpu, 1), "threads": torch.get_num_threads(), "torch": torch.__version__, "params": params,
        "inputSize": a.input_size, "batch": a.batch, "batches": batches, "seconds": round(elapsed, 2),
    }))


if __name__ == "__main__":
    main()
