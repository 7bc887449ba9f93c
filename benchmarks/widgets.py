"""How long one update of each lesson explorer takes (compute + redraw), at the sliders' largest values.

    .venv/bin/python benchmarks/widgets.py [--updates 30] [explorer ...]

Each update moves one control between two large values, so the explorer really
recomputes the model and redraws its figure to PNG, as it does for a learner
dragging a slider.  Prints p50 / p95 / max in milliseconds per explorer; the aim is
under 100 ms.
"""
import argparse
import os
import time

import numpy as np

os.environ.setdefault("MPLBACKEND", "Agg")

import rnnlib.widgets as widgets  # noqa: E402

# explorer -> (the largest settings, the control to wiggle and its two values)
CASES = {
    "timesteps_explorer": (dict(length=24), "timesteps", (12, 24)),
    "parameter_explorer": (dict(features=64, units=64, cell="LSTM"), "units", (63, 64)),
    "unroll_explorer": (dict(timesteps=50, units=64, features=16, return_sequences=True,
                             return_state=True), "timesteps", (49, 50)),
    "stack_explorer": (dict(layers=4, **{"return_sequences": [True, True, True, False]}),
                       "layers", (3, 4)),
    "state_explorer": (dict(timesteps=50, units=64, cell="LSTM"), "timesteps", (49, 50)),
    "directions_explorer": (dict(padding=6, units=8), "padding", (5, 6)),
    "encoder_explorer": (dict(), "return_sequences", (True, False)),
    "gates_explorer": (dict(cell="LSTM", units=8, timesteps=40), "event_at", (19, 20)),
    "bptt_explorer": (dict(), "scale", (0.9, 1.1)),
    "clipping_explorer": (dict(), "size", (1.5, 2.5)),
    "training_explorer": (dict(cell="LSTM", samples=1400), "epochs", (30, 60)),
    "tasks_explorer": (dict(case="encoder-decoder", decoder="initial_state", timesteps=10,
                            steps_out=8, units=32, padding=3), "timesteps", (9, 10)),
    "layout_explorer": (dict(cell="LSTM", units=64, features=64, num_layers=3, bidirectional=True),
                        "units", (63, 64)),
}


def configure(explorer, settings):
    for name, value in settings.items():
        control = getattr(explorer, name)
        if isinstance(control, list):
            for toggle, v in zip(control, value):
                toggle.value = v
        else:
            control.value = value


def time_updates(name, updates):
    settings, knob, values = CASES[name]
    explorer = widgets.EXPLORERS[name]()
    configure(explorer, settings)
    control = getattr(explorer, knob)
    wall, cpu = [], []
    for k in range(updates):
        start, start_cpu = time.perf_counter(), time.process_time()
        control.value = values[k % 2]          # observers recompute and redraw
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return 1000 * np.array(wall), 1000 * np.array(cpu)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=30)
    parser.add_argument("explorers", nargs="*", metavar="explorer",
                        help=f"some of {', '.join(CASES)} (default: all)")
    args = parser.parse_args()
    unknown = [name for name in args.explorers if name not in CASES]
    if unknown:
        parser.error(f"unknown explorer {', '.join(unknown)}; choose from {', '.join(CASES)}")
    print(f"{args.updates} updates each; wall-clock ms, and CPU ms of this process "
          "(CPU is what the update costs when other programs compete for the cores)")
    print(f"{'explorer':<22}{'control moved':<18}{'p50':>7}{'p95':>7}{'max':>7}"
          f"{'cpu p50':>9}{'cpu p95':>9}")
    for name in args.explorers or CASES:
        wall, cpu = time_updates(name, args.updates)
        knob = CASES[name][1]
        print(f"{name:<22}{knob:<18}{np.percentile(wall, 50):7.1f}{np.percentile(wall, 95):7.1f}"
              f"{wall.max():7.1f}{np.percentile(cpu, 50):9.1f}{np.percentile(cpu, 95):9.1f}")


if __name__ == "__main__":
    main()
