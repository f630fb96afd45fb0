"""The node side of a cmu chain: chain database, transaction pool, block authoring and import, JSON-RPC,
metrics, logging and key files, wired around the deterministic runtime (which never imports this package).
"""
