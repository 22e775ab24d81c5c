"""The workspace: server-rendered pages for handlers (queue, social triage, case page) over the case service."""

from pipeline.api.workspace.routes import install, router

__all__ = ["install", "router"]
