"""What every emulator shares: clock, faults, stats, TLS, the WSGI base and the /_emulator/ API."""
