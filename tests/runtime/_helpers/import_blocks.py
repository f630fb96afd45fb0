"""Helper for tests/runtime/test_import.py, run in a separate process: build a fresh LevelDB runtime from a
chain spec file, import the blocks of a file (the canonical encoding of a list of encoded blocks), then
reopen the database and print the heads as JSON.

usage: python import_blocks.py SPEC_JSON BLOCKS_FILE DB_DIR
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from runtime import codec
from runtime.block import Block
from runtime.executive import Runtime
from runtime.genesis import ChainSpec
from runtime.storage.backend import LevelDBBackend


def main(argv: list[str]) -> int:
    spec_path, blocks_path, db_path = argv
    spec = ChainSpec.load(spec_path)
    encoded_blocks = codec.unpack(Path(blocks_path).read_bytes())
    backend = LevelDBBackend(db_path)
    runtime = Runtime(spec, backend)
    genesis = runtime.genesis_hash
    for data in encoded_blocks:
        runtime.commit(runtime.import_block(Block.decode(data)))
    imported = runtime.head
    backend.close()

    reopened_backend = LevelDBBackend(db_path, create=False)
    reopened = Runtime(spec, reopened_backend).head
    reopened_backend.close()
    print(
        json.dumps(
            {
                "genesis": genesis.hex(),
                "number": imported.number,
                "head": imported.hash().hex(),
                "state_root": imported.state_root.hex(),
                "reopened_head": reopened.hash().hex(),
                "reopened_state_root": reopened.state_root.hex(),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
