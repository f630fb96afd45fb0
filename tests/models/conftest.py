"""Fixtures of the model-kind tests (the data and helpers live in model_data.py)."""

from model_data import cancer, digits, iris, wine

__all__ = ["cancer", "digits", "iris", "wine"]
