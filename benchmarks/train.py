"""Training speed: one step (forward, backward, SGD update) in rnnlib, PyTorch CPU and Keras 3.

For SimpleRNN, GRU and LSTM at a few (batch, timesteps, features, units) sizes, a model
RNN(units) -> Dense(1) with mse trains on one batch: rnnlib, torch (autograd and
torch.optim.SGD) and Keras's ``train_on_batch`` (torch backend), with the same weights,
data and threads.  One step of each is compared once (loss and updated weights) as a
sanity check.  Then they run interleaved in blocks with an untimed settle, as in
benchmarks/forward.py (see there why not call by call).  Prints medians in ms and the
ratios rnnlib/torch and rnnlib/keras (below 1: rnnlib is faster), and

* "GEMMs ms": rnnlib's matrix products of one step alone (forward: input part and one
  recurrent product per timestep; backward: one recurrent product per timestep and the
  weight gradients), into ready-made arrays - the floor of a NumPy implementation;
* "cache MiB": the arrays the forward keeps for the backward pass, and "peak MiB": the
  peak memory NumPy allocates during a whole step (tracemalloc).

"path" says how rnnlib's step ran: "public" is ``model.train_on_batch`` (and ``fit``), "by-hand"
is rnnlib.fast's training path with the Dense head, mse and SGD written out (``hand_step``),
for as long as rnnlib's public calls cannot train an RNN.

Then one epoch of ``fit`` on a teaching-size data set (1,000 sequences of 20 timesteps,
32 units, batch_size 32) in each library.

    python benchmarks/train.py [--rounds 3] [--repeats 5] [--settle 0.25] [--quick]

On a busy machine, OPENBLAS_NUM_THREADS=1 runs every library on one thread (see forward.py).
"""
import os
import statistics
import tracemalloc

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np  # noqa: E402

import rnnlib as rl  # noqa: E402
from rnnlib import fast  # noqa: E402

from forward import block, setup, torch_twin  # noqa: E402

SIZES = [(32, 20, 8, 32), (64, 100, 64, 128), (128, 200, 128, 256)]
CELLS = ["SimpleRNN", "GRU", "LSTM"]
LR = 0.01


def data(batch, timesteps, features, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(batch, timesteps, features)).astype("float32")
    return x, rng.normal(size=(batch, 1)).astype("float32")


def rnnlib_model(kind, units, features, timesteps):
    inputs = rl.Input(shape=(timesteps, features))
    outputs = rl.layers.Dense(1)(getattr(rl.layers, kind)(units, seed=0)(inputs))
    model = rl.Model(inputs, outputs)
    if hasattr(model, "compile"):
        model.compile(optimizer=rl.optimizers.SGD(LR), loss="mse")
    return model


def public_training_works(model, x, y):
    """True once rnnlib trains RNNs through its public calls (Model.backward, fit)."""
    before = [w.copy() for w in model.weights]
    try:
        model.train_on_batch(x, y)
    except Exception:                  # no backward for RNN yet: the message says what is missing
        return False
    model.set_weights(before)
    return True


def hand_step(model):
    """One training step driven by hand: rnnlib.fast's training path for the RNN, then the
    Dense head, mse and SGD written out (until model.train_on_batch can train an RNN)."""
    rnn, dense = [layer for layer in model.layers if layer.weights]
    cell = rnn.cell

    def step(x, y):
        xs = x.transpose(1, 0, 2)
        states = [np.zeros((len(x), s), x.dtype) for s in np.atleast_1d(cell.state_size)]
        _, last, tape = fast.unroll_train(cell, xs, states)
        kernel, bias = dense.weights
        y_pred = last[0] @ kernel + bias                     # (batch, 1)
        d_y = 2 * (y_pred - y) / y_pred.size                 # mse
        grads_dense = [last[0].T @ d_y, d_y.sum(axis=0)]
        d_last = [d_y @ kernel.T] + [None] * (len(states) - 1)
        _, _, grads_rnn, _ = fast.unroll_backward(cell, tape, None, d_last, d_inputs=False)
        for w, g in zip(cell.weights + dense.weights, grads_rnn + grads_dense):
            w -= LR * g
        return float(np.mean((y_pred - y) ** 2))
    return step


def rnnlib_step(model, x, y):
    if public_training_works(model, x, y):
        return "public", lambda: model.train_on_batch(x, y)
    step = hand_step(model)
    return "by-hand", lambda: step(x, y)


def torch_model(torch, kind, model):
    rnn_layer, dense = [layer for layer in model.layers if layer.weights]
    rnn = torch_twin(torch, kind, rnn_layer)
    head = torch.nn.Linear(rnn_layer.units, 1)
    kernel, bias = dense.get_weights()
    with torch.no_grad():
        head.weight.copy_(torch.from_numpy(kernel.T.copy()))
        head.bias.copy_(torch.from_numpy(bias.copy()))

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn, self.head = rnn, head

        def forward(self, x):
            return self.head(self.rnn(x)[0][:, -1])
    return Net()


def torch_step(torch, net, x, y):
    optimizer = torch.optim.SGD(net.parameters(), lr=LR)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def step():
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(net(xt), yt)
        loss.backward()
        optimizer.step()
        return loss.item()
    return step


def keras_model(keras, kind, model, x):
    k = keras.Sequential([keras.Input(x.shape[1:]), getattr(keras.layers, kind)(model.layers[-2].units),
                          keras.layers.Dense(1)])
    k.compile(optimizer=keras.optimizers.SGD(LR), loss="mse")
    k.set_weights(model.get_weights())
    return k


def gemms_only(batch, timesteps, features, width, units, dtype="float32"):
    """The matrix products of one training step, in the shapes of rnnlib.fast's training path."""
    rng = np.random.default_rng(1)
    n = timesteps * batch
    x1, w = rng.random((n, features + 1), dtype), rng.random((width, features + 1), dtype)
    w_rec, rk = rng.random((width, units), dtype), rng.random((units, width), dtype)
    A, H = rng.random((width, timesteps, batch), dtype), rng.random((units, timesteps + 1, batch), dtype)
    rec, h = np.empty((width, batch), dtype), np.empty((units, batch), dtype)

    def run():
        np.matmul(w, x1.T, out=A.reshape(width, n))            # forward: input part
        for t in range(timesteps):
            np.matmul(w_rec, H[:, t], out=rec)                 # forward: recurrent part
        for t in range(timesteps):
            np.matmul(rk, A[:, t], out=h)                      # backward: dL/dh_tm1
        A.reshape(width, n) @ x1                               # d kernel, d bias
        H[:, :timesteps].reshape(units, n) @ A.reshape(width, n).T   # d recurrent_kernel
    return run


def memory(kind, size):
    """(cache MiB, peak MiB of one step) for a fresh model, with tracemalloc."""
    batch, timesteps, features, units = size
    x, y = data(batch, timesteps, features)
    model = rnnlib_model(kind, units, features, timesteps)
    model(x)
    cell = model.layers[-2].cell
    xs = x.transpose(1, 0, 2)
    states = [np.zeros((batch, s), "float32") for s in np.atleast_1d(cell.state_size)]
    tape = fast.unroll_train(cell, xs, states)[2]
    cache = tape.nbytes() / 2**20
    step = hand_step(model)
    tracemalloc.start()
    tracemalloc.reset_peak()
    step(x, y)
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return cache, peak


def sanity_check(kind, size, model, net, k, x, y, torch):
    """One step from the same weights in each library: the same loss and the same weights."""
    copy = rnnlib_model(kind, size[3], size[2], size[1])
    copy(x)
    copy.set_weights(model.get_weights())
    loss = hand_step(copy)(x, y)
    torch_loss = torch_step(torch, net, x, y)()
    keras_loss = float(np.asarray(k.train_on_batch(x, y)).ravel()[0])
    mine = copy.get_weights()
    theirs = k.get_weights()
    err = max(np.abs(a - b).max() for a, b in zip(mine, theirs))
    assert abs(loss - torch_loss) < 1e-4 * max(1, abs(loss)), (kind, size, loss, torch_loss)
    assert abs(loss - keras_loss) < 1e-4 * max(1, abs(loss)), (kind, size, loss, keras_loss)
    assert err < 1e-4, f"{kind} {size}: weights after one step differ from Keras's by {err}"


def fit_epoch(torch, keras, kind, quick):
    """Seconds for one epoch of fit on 1,000 sequences of 20 steps, 32 units, batch 32."""
    n, timesteps, features, units = (200 if quick else 1000), 20, 1, 32
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, timesteps, features)).astype("float32")
    y = x.sum(axis=1) / timesteps
    model = rnnlib_model(kind, units, features, timesteps)
    model(x[:1])
    path = "public" if public_training_works(model, x[:32], y[:32]) else "by-hand"
    if path == "public":
        run = lambda: model.fit(x, y, batch_size=32, epochs=1, verbose=0, shuffle=False)  # noqa: E731
    else:
        step = hand_step(model)
        run = lambda: [step(x[i:i + 32], y[i:i + 32]) for i in range(0, n, 32)]  # noqa: E731
    net = torch_model(torch, kind, model)
    opt = torch.optim.SGD(net.parameters(), lr=LR)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def torch_run():
        for i in range(0, n, 32):
            opt.zero_grad()
            torch.nn.functional.mse_loss(net(xt[i:i + 32]), yt[i:i + 32]).backward()
            opt.step()
    k = keras_model(keras, kind, model, x)
    runs = {"rnnlib": run, "torch": torch_run,
            "keras": lambda: k.fit(x, y, batch_size=32, epochs=1, verbose=0, shuffle=False)}
    times = {name: [] for name in runs}
    for _ in range(2):
        for name, fn in runs.items():
            times[name] += [t / 1e3 for t in block(fn, 0.0, 1 if quick else 2)]
    return path, {name: min(v) for name, v in times.items()}


def main():
    args, torch, keras = setup(__doc__)
    print(f"One training step of RNN(units) -> Dense(1), mse, SGD(learning_rate={LR}); medians in ms.")
    header = (f"{'cell':<10}{'(batch, T, feat, units)':<26}{'rnnlib ms':>11}{'torch ms':>10}"
              f"{'keras ms':>10}{'GEMMs ms':>10}{'rnnlib/torch':>14}{'rnnlib/keras':>14}"
              f"{'GEMMs/torch':>13}{'cache MiB':>11}{'peak MiB':>10}  path")
    print(header)
    print("-" * len(header))
    for size in SIZES[:1] if args.quick else SIZES:
        batch, timesteps, features, units = size
        x, y = data(batch, timesteps, features)
        for kind in CELLS:
            model = rnnlib_model(kind, units, features, timesteps)
            model(x)
            net = torch_model(torch, kind, model)
            k = keras_model(keras, kind, model, x)
            sanity_check(kind, size, model, net, k, x, y, torch)
            k.set_weights(model.get_weights())
            net = torch_model(torch, kind, model)
            path, ours = rnnlib_step(model, x, y)
            gates = model.layers[-2].cell.gates
            runs = {"rnnlib": ours, "torch": torch_step(torch, net, x, y),
                    "keras": lambda: k.train_on_batch(x, y),
                    "gemms": gemms_only(batch, timesteps, features, gates * units, units)}
            times = {name: [] for name in runs}
            for _ in range(args.rounds):               # interleaved, block by block
                for name, fn in runs.items():
                    times[name] += block(fn, args.settle, args.repeats)
            med = {name: statistics.median(v) for name, v in times.items()}
            cache, peak = memory(kind, size)
            print(f"{kind:<10}{str(size):<26}{med['rnnlib']:>11.2f}{med['torch']:>10.2f}"
                  f"{med['keras']:>10.2f}{med['gemms']:>10.2f}"
                  f"{med['rnnlib'] / med['torch']:>14.3f}{med['rnnlib'] / med['keras']:>14.3f}"
                  f"{med['gemms'] / med['torch']:>13.3f}{cache:>11.1f}{peak:>10.1f}  {path}",
                  flush=True)
    print()
    print("One epoch of fit: 1,000 sequences of 20 timesteps, 1 feature, 32 units, batch_size 32 "
          "(best of 4, seconds)")
    print(f"{'cell':<10}{'rnnlib s':>10}{'torch s':>10}{'keras s':>10}{'rnnlib/torch':>14}"
          f"{'rnnlib/keras':>14}  path")
    for kind in CELLS:
        path, t = fit_epoch(torch, keras, kind, args.quick)
        print(f"{kind:<10}{t['rnnlib']:>10.3f}{t['torch']:>10.3f}{t['keras']:>10.3f}"
              f"{t['rnnlib'] / t['torch']:>14.3f}{t['rnnlib'] / t['keras']:>14.3f}  {path}", flush=True)


if __name__ == "__main__":
    main()
