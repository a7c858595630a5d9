"""The Open Cap Format export of the ledger, and its import."""
