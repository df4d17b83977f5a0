"""Dynamics 365 ↔ Marketo Engage sync, as Azure Functions in Python."""
