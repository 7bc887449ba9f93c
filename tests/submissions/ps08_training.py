"""Sample submissions for ps08_training: one wrong idea per variant (see submissions/__init__).

Part A (2 points) minibatches; Part B (2) mse_and_gradient; Part C clip_by_global_norm (2)
and sgd_update (1); Part D train_step (1) and fit_by_hand (2); Part E the model trained by
the student's loop (2); Part F compile/fit (2, plus a written answer nobody gives here).
Later parts call the earlier functions, so a wrong piece also costs the parts that use it
when it changes what they compute (the scores below say how much). The last variants are
adversarial: a training loop that never ends (one cell timeout), a NaN loss, hard-coded test
labels and a lookup table of the visible data; the hidden held-out check fails them.
"""

ASSIGNMENT = "ps08_training"
AUTOGRADED_POINTS = 14
# Each notebook trains two small GRUs (about 3 s of CPU): the pipeline counts one as three
# ordinary notebooks when it shares the assignments out between its parallel courses.
GRADING_WEIGHT = 3


def _batches(body):
    return f"import numpy as np\n\ndef minibatches(samples, batch, rng):\n{body}\n"


def _clip(norm="np.sqrt(sum(np.sum(g ** 2) for g in grads))", scale="clipnorm / max(norm, clipnorm)"):
    return ("import numpy as np\n\ndef clip_by_global_norm(grads, clipnorm):\n"
            f"    norm = {norm}\n    scale = {scale}\n    return [g * scale for g in grads]\n")


def _step(update="model.set_weights(sgd_update(model.get_weights(), grads, learning_rate))",
          returned="loss"):
    return f'''
def train_step(model, x, y, learning_rate, clipnorm):
    y_pred, tape = model.forward(x)
    loss, d_y_pred = mse_and_gradient(y, y_pred)
    grads = model.backward(tape, d_y_pred).weights
    grads = clip_by_global_norm(grads, clipnorm)
    {update}
    return {returned}
'''


def _fit(batches="minibatches(len(x), batch, rng)", before="", epoch_loss="total / len(x)",
         add="train_step(model, x[rows], y[rows], learning_rate, clipnorm) * len(rows)"):
    return f'''
def fit_by_hand(model, x, y, epochs, batch, learning_rate, clipnorm, rng):
    history = []
    {before}
    for epoch in range(epochs):
        total, losses = 0.0, []
        for rows in {batches}:
            losses.append(train_step(model, x[rows], y[rows], learning_rate, clipnorm))
            total += losses[-1] * len(rows)
        history.append({epoch_loss})
    return history
'''


_BUILD = '''
rl.utils.set_random_seed(0)
model = rl.Sequential([rl.Input(shape=(timesteps, 2)), rl.layers.GRU(16), rl.layers.Dense(1)])
'''

VARIANTS = {
    # --- Part A: minibatches (fit_by_hand uses it: its check fails too) ---
    "not_shuffled": dict(cells={"minibatches": _batches(
        "    return [np.arange(samples)[s:s + batch] for s in range(0, samples, batch)]")},
        score=10, feedback=["Misconception: not shuffled"]),
    "last_batch_dropped": dict(cells={"minibatches": _batches(
        "    order = rng.permutation(samples)\n"
        "    return [order[s:s + batch] for s in range(0, samples - batch + 1, batch)]")},
        score=10, feedback=["Misconception: last partial batch dropped"]),
    "empty_last_batch": dict(cells={"minibatches": _batches(
        "    order = rng.permutation(samples)\n"
        "    return [order[k * batch:(k + 1) * batch] for k in range(samples // batch + 1)]")},
        score=10, feedback=["Misconception: an empty last batch"]),
    "with_replacement": dict(cells={"minibatches": _batches(
        "    order = rng.integers(0, samples, samples)\n"
        "    return [order[s:s + batch] for s in range(0, samples, batch)]")},
        score=10, feedback=["Misconception: samples drawn with replacement"]),
    # --- Part B: the loss ---
    "sum_loss": dict(cells={"mse_and_gradient": '''
import numpy as np

def mse_and_gradient(y_true, y_pred):
    diff = y_pred - y_true
    return np.sum(diff ** 2), 2 * diff
'''}, score=7, feedback=["Misconception: loss summed instead of averaged"]),
    "sign_flipped": dict(cells={"mse_and_gradient": '''
import numpy as np

def mse_and_gradient(y_true, y_pred):
    diff = y_pred - y_true
    return np.mean(diff ** 2), 2 * (y_true - y_pred) / diff.size
'''}, score=7, feedback=["Misconception: gradient sign flipped"]),
    # --- Part C: clipping, the update ---
    "clipped_per_weight": dict(cells={"clip_by_global_norm": '''
import numpy as np

def clip_by_global_norm(grads, clipnorm):
    return [g * clipnorm / max(np.sqrt(np.sum(g ** 2)), clipnorm) for g in grads]
'''}, score=9, feedback=["Misconception: clipped per weight instead of globally"]),
    "clipping_scales_up": dict(cells={"clip_by_global_norm": _clip(scale="clipnorm / norm")},
                               score=7, feedback=["Misconception: clipping scales small gradients up"]),
    "plus_instead_of_minus": dict(cells={"sgd_update": '''
def sgd_update(weights, grads, learning_rate):
    return [w + learning_rate * g for w, g in zip(weights, grads)]
'''}, score=8, feedback=["Misconception: update with + instead of -"]),
    "learning_rate_ignored": dict(cells={"sgd_update": '''
def sgd_update(weights, grads, learning_rate):
    return [w - g for w, g in zip(weights, grads)]
'''}, score=8, feedback=["Misconception: learning rate ignored"]),
    # --- Part D: the step and the loop ---
    "not_written_back": dict(cells={"train_step": _step(
        update="sgd_update(model.get_weights(), grads, learning_rate)")},
        score=9, feedback=["Misconception: new weights never written back to the model"]),
    "epoch_loss_summed": dict(cells={"fit_by_hand": _fit(epoch_loss="sum(losses)")},
                              score=12, feedback=["Misconception: epoch loss is the sum of the batch losses"]),
    "epoch_loss_plain_mean": dict(cells={"fit_by_hand": _fit(epoch_loss="np.mean(losses)")},
                                  score=12, feedback=["Misconception: epoch loss is the plain mean"]),
    "same_order_every_epoch": dict(cells={"fit_by_hand": _fit(
        before="batches = minibatches(len(x), batch, rng)", batches="batches")},
        score=12, feedback=["Misconception: same order every epoch"]),
    "calls_fit": dict(cells={"fit_by_hand": '''
def fit_by_hand(model, x, y, epochs, batch, learning_rate, clipnorm, rng):
    model.compile(optimizer=rl.optimizers.SGD(learning_rate, global_clipnorm=clipnorm), loss="mse")
    return model.fit(x, y, batch_size=batch, epochs=epochs, verbose=0).history["loss"]
'''}, score=12, feedback=["Misconception: calls rnnlib instead of implementing", "Trainer.fit"]),
    # --- Part F ---
    "fit_with_adam": dict(cells={"fit_model": '''
rl.utils.set_random_seed(0)
fit_model = rl.Sequential([rl.Input(shape=(timesteps, 2)), rl.layers.GRU(16), rl.layers.Dense(1)])
fit_model.compile(optimizer="adam", loss="mse")
history = fit_model.fit(x_train, y_train, batch_size=16, epochs=20, verbose=0)
'''}, score=12, feedback=["the exercise is your loop in three lines"]),
    # --- adversarial, Part E ---
    # a loop "until the target" whose learning rate is 0: it never gets there (one timeout)
    "infinite_loop": dict(cells={"train_model": _BUILD + '''
learning_rate = 0.0
mse = 1.0
while mse > 0.02:
    fit_by_hand(model, x_train, y_train, epochs=1, batch=16, learning_rate=learning_rate,
                clipnorm=1.0, rng=np.random.default_rng(0))
    mse = np.mean((model.predict(x_test, verbose=0) - y_test) ** 2)
'''}, score=12, feedback=["the target is below 0.02"]),
    # clipping "switched off" with clipnorm=np.inf: inf / max(norm, inf) is NaN, so is the loss
    "nan_loss": dict(cells={"train_model": _BUILD + '''
losses = fit_by_hand(model, x_train, y_train, epochs=2, batch=16, learning_rate=0.5,
                     clipnorm=np.inf, rng=np.random.default_rng(0))
'''}, score=12, feedback=["Misconception: training diverged (NaN)"]),
    # no training: the "model" answers with the labels of the visible test set
    "hard_coded_labels": dict(cells={"train_model": '''
import types
model = types.SimpleNamespace(predict=lambda x, verbose=0: y_test.copy())
'''}, score=12, feedback=["Misconception: works on the visible test data only"]),
    # a lookup table of every sequence it was shown (train and test), 1.0 for any other
    "lookup_table": dict(cells={"train_model": '''
import types
table = {row.tobytes(): label for row, label in zip(np.concatenate([x_train, x_test]),
                                                    np.concatenate([y_train, y_test]))}
model = types.SimpleNamespace(predict=lambda x, verbose=0: np.array(
    [table.get(row.tobytes(), np.ones(1, "float32")) for row in x]))
'''}, score=12, feedback=["Misconception: works on the visible test data only"]),
}
