"""`python -m sync ...`: the CLI, driving the same code the Functions use."""

from sync.cli.main import main

raise SystemExit(main())
