"""Dataverse Web API client: azure-identity auth, retry policy, change tracking, writers, metadata."""
