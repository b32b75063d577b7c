"""Loads a loralab tokenized dataset with Hugging Face `datasets.load_from_disk` and prints what it found as JSON.

Usage: python tools/reference/data-hf-load.py DATASET_DIR
Needs `datasets` (and pyarrow). Used by packages/data's compatibility test when such a Python is available
(LORALAB_HF_PYTHON, default python3); the test checks features, row count and every row against loralab's reader.
"""
import json
import sys

import datasets

ds = datasets.load_from_disk(sys.argv[1])
print(
    json.dumps(
        {
            "datasets_version": datasets.__version__,
            "num_rows": ds.num_rows,
            "features": {k: str(v) for k, v in ds.features.items()},
            "arrow_types": {f.name: str(f.type) for f in ds.data.schema},
            "rows": ds.to_dict(),
        }
    )
)
