"""Complaint analytics over the case store: trends, spikes that call for a review, themes, root
causes with recommendations, and regulatory returns. The report and the workspace dashboard use
the same functions, so the two never disagree."""
