"""cmu: the node side, the client, the model kinds and the scenarios."""
