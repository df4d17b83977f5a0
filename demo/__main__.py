"""`python -m demo`."""

from demo.run import run_demo

raise SystemExit(run_demo())
