"""Marketo Engage REST client: token, envelope, limiter, error policy, paging, writers."""
