"""The deterministic core of a cmu chain: codec, crypto, storage, pallets, extrinsics and the executive.

Nothing in this package reads a clock, the network, randomness or the environment while executing blocks.
"""
