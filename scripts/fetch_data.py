#!/usr/bin/env python
"""Download the public data releases earlywarn uses, laid out like ../shared/data.

    python scripts/fetch_data.py --dest data/raw          # fetch everything (then EARLYWARN_DATA_DIR=data/raw)
    python scripts/fetch_data.py --dest data/raw --only 'uss/*'
    python scripts/fetch_data.py --verify ../shared/data  # check a folder against the sha256 table
    python scripts/fetch_data.py --list                   # sources, licences, subset steps

The logic (URL table, checksums, subset steps) lives in `pipeline.datasets.fetch`.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without install

from pipeline.datasets.fetch import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
