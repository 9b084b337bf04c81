"""Engine benchmarks: ratios against baselines measured in the same run.

    python benchmarks/engine.py            # needs torch for the training comparison:
                                           #   pip install torch==2.13.0 (CPU build)

1. One training iteration of `engine.train` for MLP [2, 8, 8, 1] (tanh, sigmoid output,
   binary_crossentropy) on 1,000 samples, including the full-data loss each Step carries,
   against PyTorch eager doing the same work (float64, one thread, torch.nn + torch.optim.SGD,
   the update plus a no_grad full-data loss), at batch sizes 1 and 32; ROUNDS rounds in this
   process, each the best of REPEATS for both sides, and the worst round's ratio is the figure.
2. The exact two-parameter MSE surface, 201 x 201 over 100,000 samples (target < 20 ms).
3. A projected MLP slice, 51 x 51 over 1,000 samples (target < 300 ms).

Timings are the best of several repeats (the least disturbed by a noisy machine).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

import engine  # noqa: E402

N_SAMPLES = 1000
ITERATIONS = 2000
REPEATS = 5
ROUNDS = 3


def best_of(fn, repeats: int = REPEATS) -> float:
    """Best wall time of `repeats` calls of fn(), in seconds."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def engine_iterations(X, y, batch_size: int) -> float:
    """Seconds per iteration of engine.train (every Step carries the full-data loss)."""
    model = engine.MLP([2, 8, 8, 1], activation="tanh", output="sigmoid", seed=0)
    epochs = ITERATIONS // engine.iterations_per_epoch(N_SAMPLES, batch_size) + 1

    def run():
        steps = engine.train(X, y, model=model, loss="binary_crossentropy", lr=0.1,
                             batch_size=batch_size, epochs=epochs, seed=0)
        for _, _step in zip(range(ITERATIONS), steps, strict=False):
            pass

    return best_of(run) / ITERATIONS


def torch_iterations(X, y, batch_size: int) -> float:
    """Seconds per iteration of the same work in PyTorch eager (float64, one thread)."""
    import torch

    torch.set_num_threads(1)
    torch.manual_seed(0)
    Xt = torch.from_numpy(X)
    yt = torch.from_numpy(y)
    net = torch.nn.Sequential(
        torch.nn.Linear(2, 8), torch.nn.Tanh(),
        torch.nn.Linear(8, 8), torch.nn.Tanh(),
        torch.nn.Linear(8, 1), torch.nn.Sigmoid(),
    ).double()
    lossf = torch.nn.BCELoss()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    gen = torch.Generator().manual_seed(0)

    def run():
        done = 0
        while done < ITERATIONS:
            order = torch.randperm(N_SAMPLES, generator=gen)
            for start in range(0, N_SAMPLES, batch_size):
                idx = order[start : start + batch_size]
                opt.zero_grad()
                batch_loss = lossf(net(Xt[idx]), yt[idx])
                batch_loss.backward()
                opt.step()
                with torch.no_grad():
                    full_loss = lossf(net(Xt), yt)
                batch_loss.item(), full_loss.item()
                done += 1
                if done == ITERATIONS:
                    return

    return best_of(run) / ITERATIONS


def surface_timings() -> list[tuple[str, float, float]]:
    """(name, seconds, target seconds) for the two surface targets."""
    from engine import surface

    out = []
    data = engine.make_dataset("linear", n_samples=100_000, seed=0)
    model = engine.MLP([1, 1], seed=0)
    t = best_of(lambda: surface.exact_surface(model, "mse", data.X, data.y, grid=201))
    out.append(("exact MSE surface 201x201, n=100,000", t, 0.020))

    data = engine.make_dataset("moons", n_samples=1000, seed=0)
    model = engine.MLP([2, 8, 8, 1], activation="tanh", output="sigmoid", seed=0)
    t = best_of(lambda: surface.projected_surface(model, "binary_crossentropy", data.X,
                                                  data.y, grid=51, seed=0))
    out.append(("projected MLP slice 51x51, n=1,000", t, 0.300))
    return out


def main() -> None:
    data = engine.make_dataset("moons", n_samples=N_SAMPLES, seed=0)
    X, y = data.X, data.y
    print(f"numpy {np.__version__}, {ITERATIONS} iterations, best of {REPEATS}")
    try:
        import torch

        print(f"torch {torch.__version__}")
        have_torch = True
    except ImportError:
        print("torch not installed: skipping the training comparison "
              "(pip install torch==2.13.0)")
        have_torch = False

    if have_torch:
        print("\nTraining iteration, MLP [2, 8, 8, 1], 1,000 samples (target: >= 5x torch)")
        worst: dict[int, float] = {}
        for round_ in range(1, ROUNDS + 1):
            for batch_size in (1, 32):
                ours = engine_iterations(X, y, batch_size)
                theirs = torch_iterations(X, y, batch_size)
                ratio = theirs / ours
                worst[batch_size] = min(worst.get(batch_size, ratio), ratio)
                print(f"  round {round_} batch {batch_size:>3}: engine {ours * 1e6:7.1f} us   "
                      f"torch {theirs * 1e6:7.1f} us   speed-up x{ratio:.2f}")
        for batch_size, ratio in worst.items():
            print(f"  batch {batch_size:>3}: worst of {ROUNDS} rounds x{ratio:.2f}")

    try:
        timings = surface_timings()
    except (ImportError, AttributeError) as exc:
        print(f"\nsurfaces not benchmarked: {exc}")
        return
    print("\nSurfaces (target in brackets)")
    for name, t, target in timings:
        print(f"  {name}: {t * 1e3:7.1f} ms  (< {target * 1e3:.0f} ms: "
              f"{'ok' if t < target else 'MISSED'}, x{target / t:.1f} headroom)")


if __name__ == "__main__":
    main()
