"""The JSON of each built-in pallet's RPC answers (node side): one module per pallet, named after it.

`model_registry` (model_get, model_list, model_predict, model_download), `access` (who may read what,
a model's public description), `training` (training_*), `versioning` (model_history, model_verify,
model_diff, reads at a version). They run on read runtimes (no block in progress), never write, and
raise `QueryError` (formats.predictions) for a refusal. A pallet package's own views plug in through
cmu/node/extensions.py instead (entry point group `cmu.rpc`).
"""
