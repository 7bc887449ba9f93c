"""Shared test set-up: Keras (when installed) runs on the CPU build of PyTorch.

The tests run many tiny matrix products, often beside notebook kernels and a browser;
one BLAS thread each is faster there than OpenBLAS's spinning worker threads (set
before NumPy is imported; the benchmarks, which use every core, are not affected).
"""
import os

os.environ.setdefault("KERAS_BACKEND", "torch")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
