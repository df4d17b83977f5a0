"""Command line: the same engine and store calls as the Functions, for local runs and the demo."""
