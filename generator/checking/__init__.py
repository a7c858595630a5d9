"""Checking grants against the plan, and the share ledger: the rules, the reserve and its
arithmetic, forfeitures and splits, the values a grant's documents print."""
