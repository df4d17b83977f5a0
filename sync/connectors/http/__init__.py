"""The one HTTP layer both connectors stand on: failure kinds and policy rows, deadlines, the
retry loop (tenacity, configured once), Retry-After, and paging."""
