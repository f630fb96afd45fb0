"""SCALE for Substrate's clients: the portable type registry and metadata V14 generated from the pallets'
declarations, and (in extrinsic_v4) the one consensus entry, Substrate's signed extrinsic format v4."""
