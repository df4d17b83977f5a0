"""Local stand-ins for the services the sync talks to: Dataverse, Marketo, and Azurite's launcher."""
