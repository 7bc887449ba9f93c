"""The adding problem: how long a sequence SimpleRNN, GRU and LSTM learn it on, with rnnlib (and Keras 3).

Each sample is ``timesteps`` steps of 2 features: a random number in [0, 1], and a marker
that is 1 at two steps (one in the first half of the sequence, one in the second) and 0
elsewhere.  The target is the sum of the two marked numbers.  Predicting the mean (1.0)
for every sample scores an mse of Var(a + b) = 2/12 = 0.167: a model whose validation mse
stays there has learned nothing.

For each cell and length, ``cell(32) -> Dense(1)`` trains with Adam(learning_rate=0.01,
global_clipnorm=1.0) (``--learning-rate`` changes it), batches of 32, on 2,000 sequences,
and is validated on 500 others.  Prints the final validation mse per cell and length (and
per library with ``--keras``).  Lesson 10 quotes these runs (2 shared cores, 2026-12-02):
the defaults with ``--seeds 0 1``; ``--learning-rate 0.001 --epochs 40``; ``--keras
--timesteps 25 100``.

    .venv/bin/python benchmarks/adding_problem.py [--timesteps 10 50 100 200] [--epochs 20]
        [--seeds 0 1] [--learning-rate 0.01] [--cells SimpleRNN ...]
        [--keras] [--keras-timesteps 50 100]

On a busy machine keep OPENBLAS_NUM_THREADS=1 (the default here): one thread per library.
"""
import argparse
import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np  # noqa: E402

import rnnlib as rl  # noqa: E402

BASELINE = 2 / 12          # the mse of always answering the mean, 1.0
CELLS = ("SimpleRNN", "GRU", "LSTM")


def adding_problem(samples, timesteps, rng):
    """x (samples, timesteps, 2): numbers in [0, 1] and a 0/1 marker; y (samples, 1): the
    sum of the two marked numbers, one marked in each half of the sequence."""
    numbers = rng.uniform(0, 1, size=(samples, timesteps))
    half = timesteps // 2
    first = rng.integers(0, half, size=samples)
    second = rng.integers(half, timesteps, size=samples)
    marks = np.zeros((samples, timesteps))
    rows = np.arange(samples)
    marks[rows, first] = marks[rows, second] = 1.0
    x = np.stack([numbers, marks], axis=-1).astype("float32")          # (samples, timesteps, 2)
    y = (numbers * marks).sum(axis=1, keepdims=True).astype("float32")  # (samples, 1)
    return x, y


def data(timesteps, seed):
    rng = np.random.default_rng(seed)
    return adding_problem(2000, timesteps, rng), adding_problem(500, timesteps, rng)


def train(lib, cell, timesteps, epochs, seed, learning_rate=0.01, units=32):
    """The validation mse after each epoch, and the seconds it took."""
    (x, y), (x_val, y_val) = data(timesteps, seed)
    lib.utils.set_random_seed(seed)
    model = lib.Sequential([lib.Input(shape=(timesteps, 2)), getattr(lib.layers, cell)(units),
                            lib.layers.Dense(1)])
    model.compile(optimizer=lib.optimizers.Adam(learning_rate=learning_rate, global_clipnorm=1.0), loss="mse")
    start = time.perf_counter()
    history = model.fit(x, y, batch_size=32, epochs=epochs, validation_data=(x_val, y_val), verbose=0)
    return np.array(history.history["val_loss"]), time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timesteps", type=int, nargs="+", default=[10, 25, 50, 100, 200])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--learning-rate", type=float, default=0.01)
    parser.add_argument("--cells", nargs="+", default=list(CELLS), choices=CELLS)
    parser.add_argument("--keras", action="store_true", help="Keras 3 (torch backend) beside rnnlib")
    parser.add_argument("--keras-timesteps", type=int, nargs="+", default=None,
                        help="the lengths Keras runs (default: all of --timesteps)")
    args = parser.parse_args()
    libraries = {"rnnlib": rl}
    if args.keras:
        import keras
        import torch
        torch.set_num_threads(int(os.environ["OPENBLAS_NUM_THREADS"]))
        libraries["keras"] = keras
    print(f"adding problem: {args.epochs} epochs, 2,000 training / 500 validation sequences, "
          f"units 32, Adam({args.learning_rate}, global_clipnorm=1.0); baseline (always 1.0) mse {BASELINE:.3f}")
    print("final validation mse (the best epoch's in brackets), and the seconds the row took")
    print(f"{'library':<8}{'seed':>5}{'timesteps':>10}  " + "  ".join(f"{c:<17}" for c in args.cells)
          + "  seconds")
    for name, lib in libraries.items():
        lengths = args.timesteps if name == "rnnlib" else (args.keras_timesteps or args.timesteps)
        for seed in args.seeds:
            for timesteps in lengths:
                cells, seconds = [], 0.0
                for cell in args.cells:
                    val, took = train(lib, cell, timesteps, args.epochs, seed, args.learning_rate)
                    cells.append(f"{val[-1]:.4f} ({val.min():.4f})")
                    seconds += took
                print(f"{name:<8}{seed:>5}{timesteps:>10}  " + "  ".join(f"{c:<17}" for c in cells)
                      + f"{seconds:7.1f}", flush=True)


if __name__ == "__main__":
    main()
