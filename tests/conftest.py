"""Shared test set-up: Keras (when installed) runs on the CPU build of PyTorch."""
import os

os.environ.setdefault("KERAS_BACKEND", "torch")
os.environ.setdefault("MPLBACKEND", "Agg")
