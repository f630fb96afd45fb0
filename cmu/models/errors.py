"""Typed errors of the model kinds: every refusal is a `ModelError` subclass that names the problem.

Pallets map these onto their own `DispatchError`s; the model kinds know nothing of the chain.
"""

from __future__ import annotations


class ModelError(ValueError):
    """Base of every error the model kinds raise on purpose."""


class WrongType(ModelError, TypeError):
    """An input, label, parameter or weights object has the wrong Python or numpy type or shape."""


class WrongFeatureCount(ModelError):
    """A dense row does not have exactly `n_features` values."""


class TooManyNonZeros(WrongFeatureCount):
    """A sparse row has more non-zero entries than the spec's `max_nonzeros`."""


class NotFinite(ModelError):
    """A real-valued input is NaN or +/-infinity."""


class OutOfRange(ModelError):
    """A value lies outside the spec's [min_value, max_value] (fixed point)."""


class NegativeCount(OutOfRange):
    """A count-valued kind (naive Bayes) was given a negative value."""


class IndexOutOfRange(ModelError):
    """A sparse feature index is negative or >= `n_features`."""


class UnsortedIndices(ModelError):
    """A fixed-point sparse row whose indices are not strictly increasing (repeated or out of order)."""


class BadLabel(ModelError):
    """A label that is not an int in [0, n_labels)."""


class BadSpec(ModelError):
    """An `InputSpec` or label count outside the documented limits, or one this kind cannot serve."""


class BadParams(ModelError):
    """Unknown kind parameters, or values outside their documented bounds."""


class MalformedWeights(ModelError):
    """Weights bytes or arrays that are not a canonical, in-bounds encoding for this kind and spec."""


class MalformedDelta(ModelError):
    """A weights delta with unsorted, repeated or out-of-range indices, or mismatched lengths."""


class IncompatibleWeights(ModelError):
    """Two weights that do not share kind, spec, label count and parameters (so cannot be diffed)."""


class UnknownKind(ModelError, KeyError):
    """No model kind is registered under this name (a KeyError too, so Mapping.get works)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class KindAlreadyRegistered(ModelError):
    """A model kind name is already taken (built-in names can never be replaced)."""


class NotTrainable(ModelError):
    """`update` or `train` was called on a kind whose `trainable` is False."""
