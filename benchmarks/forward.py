"""Forward-pass speed: rnnlib against PyTorch CPU and Keras 3 eager, side by side.

For SimpleRNN, GRU and LSTM at a few (batch, timesteps, features, units) sizes, the
three implementations run interleaved in one process, each with the same number of
threads, on the same input, with the same weights (the outputs are compared once as
a sanity check).  Prints medians in ms and the ratios rnnlib/torch and rnnlib/keras
(below 1 means rnnlib is faster).

Interleaved in blocks, not call by call: after a matrix product, OpenBLAS's worker
thread (NumPy's) keeps spinning for about 0.1 s of CPU, waiting for more work
(torch's OpenMP threads for about 0.01 s).  Call by call, torch would run while
NumPy's spinning thread still held a core - on a 2-core machine that made torch's
LSTM look 1.5x slower than it is.  So each round gives every library a block: calls until ``--settle``
seconds have passed (untimed; the other library's threads go quiet), then
``--repeats`` timed calls.  ``--rounds`` rounds; the median is over all timed calls.

torch's LSTM (not its RNN or GRU) runs on oneDNN's fused LSTM kernel by default; the
column "torch-ATen" times torch with oneDNN switched off (its plain ATen loop, the
same algorithm as rnnlib's), to show where the difference comes from.  The column
"GEMMs ms" times rnnlib's matrix products alone (the input part of all timesteps,
then one recurrent product per timestep, into ready-made arrays): a floor no NumPy
implementation of the same maths goes below, and "GEMMs/torch" says how close to
torch's whole run that floor already is.

    python benchmarks/forward.py [--rounds 3] [--repeats 5] [--settle 0.25] [--quick]

On a busy machine, OPENBLAS_NUM_THREADS=1 runs every library on one thread (torch follows it):
two BLAS threads fighting other programs for two cores wait on each other and time nothing.
"""
import argparse
import os
import warnings
import statistics
import time

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np  # noqa: E402

import rnnlib as rl  # noqa: E402

SIZES = [(32, 20, 8, 32), (64, 100, 64, 128), (128, 200, 128, 256)]
CELLS = ["SimpleRNN", "GRU", "LSTM"]


def torch_twin(torch, kind, layer):
    """A torch.nn RNN with the rnnlib layer's weights (Keras gate order -> torch's)."""
    kernel, recurrent, bias = layer.get_weights()
    features, units = kernel.shape[0], recurrent.shape[0]
    cls = {"SimpleRNN": torch.nn.RNN, "GRU": torch.nn.GRU, "LSTM": torch.nn.LSTM}[kind]
    net = cls(features, units, batch_first=True)
    if kind == "GRU":                          # Keras z|r|h, torch r|z|n; bias rows input/recurrent
        order = np.r_[units:2 * units, 0:units, 2 * units:3 * units]
        b_ih, b_hh = bias[0][order], bias[1][order]
        kernel, recurrent = kernel[:, order], recurrent[:, order]
    else:                                      # SimpleRNN one block; LSTM i|f|c|o = torch i|f|g|o
        b_ih, b_hh = bias, np.zeros_like(bias)
    with torch.no_grad():
        net.weight_ih_l0.copy_(torch.from_numpy(kernel.T.copy()))
        net.weight_hh_l0.copy_(torch.from_numpy(recurrent.T.copy()))
        net.bias_ih_l0.copy_(torch.from_numpy(b_ih.copy()))
        net.bias_hh_l0.copy_(torch.from_numpy(b_hh.copy()))
    return net


def block(fn, settle, repeats):
    """Untimed calls for ``settle`` seconds (at least one), then ``repeats`` timed ones (ms)."""
    start = time.perf_counter()
    fn()
    while time.perf_counter() - start < settle:
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return times


def gemms_only(batch, timesteps, features, width, units, dtype="float32"):
    """The matrix products of one forward pass and nothing else, in the shapes of
    rnnlib's fused loop (``Cell.project_columns``, then ``w_rec @ h`` per timestep)."""
    rng = np.random.default_rng(1)
    w, x1 = rng.random((width, features + 1), dtype), rng.random((timesteps, batch, features + 1), dtype)
    w_rec, h = rng.random((width, units), dtype), rng.random((units, batch), dtype)
    xp, z = np.empty((timesteps, width, batch), dtype), np.empty((width, batch), dtype)

    def run():
        np.matmul(w, x1.transpose(0, 2, 1), out=xp)
        for _ in range(timesteps):
            np.matmul(w_rec, h, out=z)
    return run


def setup(doc):
    """The benchmarks' shared start: their arguments, then torch on as many threads as NumPy's
    BLAS (every core, or OPENBLAS_NUM_THREADS), and a line of versions.  -> (args, torch, keras)"""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per block")
    parser.add_argument("--settle", type=float, default=0.25,
                        help="seconds of untimed calls that start each block")
    parser.add_argument("--quick", action="store_true", help="smallest size only")
    args = parser.parse_args()

    import keras
    import torch

    warnings.filterwarnings("ignore", message="TF32 acceleration")
    threads = int(os.environ.get("OPENBLAS_NUM_THREADS", os.cpu_count()))
    torch.set_num_threads(threads)
    print(f"numpy {np.__version__} (BLAS threads: {threads} of {os.cpu_count()} cores), "
          f"torch {torch.__version__} ({torch.get_num_threads()} threads), "
          f"keras {keras.__version__} ({keras.backend.backend()})")
    return args, torch, keras


def main():
    args, torch, keras = setup(__doc__)
    header = (f"{'cell':<10}{'(batch, T, feat, units)':<26}{'rnnlib ms':>11}{'torch ms':>10}"
              f"{'keras ms':>10}{'torch-ATen ms':>15}{'GEMMs ms':>10}{'rnnlib/torch':>14}"
              f"{'rnnlib/keras':>14}{'rnnlib/ATen':>13}{'GEMMs/torch':>13}")
    print(header)
    print("-" * len(header))
    for size in SIZES[:1] if args.quick else SIZES:
        batch, timesteps, features, units = size
        x = np.random.default_rng(0).normal(size=(batch, timesteps, features)).astype("float32")
        xt = torch.from_numpy(x)
        for kind in CELLS:
            ours = getattr(rl.layers, kind)(units, return_sequences=True, seed=0)
            ours(x)
            net = torch_twin(torch, kind, ours)
            theirs = getattr(keras.layers, kind)(units, return_sequences=True)
            theirs.build(x.shape)
            theirs.set_weights(ours.get_weights())
            with torch.no_grad():
                want = net(xt)[0].numpy()
                keras_out = keras.ops.convert_to_numpy(theirs(x))
            err = max(np.abs(ours(x) - want).max(), np.abs(keras_out - want).max())
            assert err < 1e-4, f"{kind} {size}: outputs differ by {err}"

            def aten():
                with torch.backends.mkldnn.flags(enabled=False):
                    net(xt)

            runs = {"rnnlib": lambda: ours(x), "torch": lambda: net(xt),
                    "keras": lambda: theirs(x), "aten": aten,
                    "gemms": gemms_only(*size[:3], ours.cell.gates * units, units)}
            times = {k: [] for k in runs}
            with torch.no_grad():
                for _ in range(args.rounds):          # interleaved, block by block
                    for k, fn in runs.items():
                        times[k] += block(fn, args.settle, args.repeats)
            med = {k: statistics.median(v) for k, v in times.items()}
            print(f"{kind:<10}{str(size):<26}{med['rnnlib']:>11.2f}{med['torch']:>10.2f}"
                  f"{med['keras']:>10.2f}{med['aten']:>15.2f}{med['gemms']:>10.2f}"
                  f"{med['rnnlib'] / med['torch']:>14.2f}{med['rnnlib'] / med['keras']:>14.2f}"
                  f"{med['rnnlib'] / med['aten']:>13.2f}{med['gemms'] / med['torch']:>13.2f}")


if __name__ == "__main__":
    main()
