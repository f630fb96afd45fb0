"""Substrate's view of the node for Substrate's own clients (substrate-interface, @polkadot/api), served at
`/substrate` on the RPC port: metadata V14, storage keys and values, blocks and events in SCALE."""
