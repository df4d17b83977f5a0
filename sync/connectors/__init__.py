"""Clients of the two systems: they know the wire (auth, paging, limits, errors), not the sync."""
