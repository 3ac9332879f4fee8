"""``python -m tocsin``: the ``tocsin`` command without its console script."""

from tocsin.cli import main

raise SystemExit(main())
