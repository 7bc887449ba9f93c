"""Shared test set-up: Keras (when installed) runs on the CPU build of PyTorch.

The tests run many tiny matrix products, often beside notebook kernels and a browser;
one BLAS thread each is faster there than OpenBLAS's spinning worker threads (set
before NumPy is imported; the benchmarks, which use every core, are not affected).
"""
import os

os.environ.setdefault("KERAS_BACKEND", "torch")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import sys  # noqa: E402

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _torch_autograd_left_as_found():
    """A test that turns torch's autograd off must turn it back on: Keras's fit in a later
    test would fail with 'element 0 of tensors does not require grad' far from the cause."""
    torch = sys.modules.get("torch")
    before = torch.is_grad_enabled() if torch else None
    yield
    torch = sys.modules.get("torch")
    if torch and before is not None and torch.is_grad_enabled() != before:
        torch.set_grad_enabled(before)
        pytest.fail("this test left torch's autograd switched "
                    f"{'off' if before else 'on'}; restore it (torch.set_grad_enabled)")
