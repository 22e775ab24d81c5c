"""The HTTP face of earlywarn: the case REST API (and, later, ingest and the workspace)."""
