"""Sub-commands of `earlywarn` that own a whole area (cases, users)."""
