"""Getting messages in: reading sources, validating them against the Message contract, redacting
personal data before anything is logged."""
