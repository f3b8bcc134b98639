"""python -m bench: see bench/README.md. `python -m bench capture`: change capture's lag and
the cut-over's freeze (bench/capture.py)."""

import sys

if sys.argv[1:2] == ["capture"]:
    from bench.capture import main
else:
    from bench.run import main

raise SystemExit(main())
