"""Conversation-level early warning: a running state per conversation that rises before the complaint does."""
