"""Run fastci as ``python -m fastci``."""

from fastci.cli import main

raise SystemExit(main())
