"""A Dataverse Web API emulator (with its Entra ID token endpoint): tables, OData queries,
change tracking, writes, $batch, bulk actions, QualifyLead, metadata, service protection."""
