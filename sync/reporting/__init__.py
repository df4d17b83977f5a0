"""What the sync tells people: the status report and the errors export (HTTP and CLI alike)."""
