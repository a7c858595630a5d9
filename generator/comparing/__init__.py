"""Comparing documents with the forms counsel approved: the approved forms, their snapshots,
the deviations and their word diffs."""
