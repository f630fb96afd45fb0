"""The built-in pallets: system, balances and sudo, then the model pallets (registry, access,
versioning, training). Each is one package whose class holds its whole public surface."""
