"""Pure formats that the chain's pallets, the node and the clients must agree on byte for byte.

- `formats.artifact`: how bytes become chunks and an artifact root (content addressing).
- `formats.envelope`: the byte layout of confidential (encrypted) artifacts.
- `formats.signed_query`: what a caller signs to read a permissioned model over RPC.
- `formats.predictions`: rows in, `{label, name, scores}` out (node answers and local predictions).
Weight deltas are the models package's (`models.encode_delta` / `models.decode_delta`).

Nothing here reads or writes chain state, and nothing here imports a pallet, the node or the client.
"""
