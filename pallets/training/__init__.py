"""Training: stake-gated incremental training of registered models (Deposit, Refund and Take of Harris and
Waggoner, 2019): a deposit with each labelled example, refunds for data the model still agrees with,
deposits of data it disagrees with taken by reporters with good contributions, the owner or anyone."""

from pallets.training.pallet import Training

__all__ = ["Training"]
