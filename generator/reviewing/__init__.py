"""Reviewing a batch: the review folder counsel reads (summaries, review packet, Form 4 values)
and the Board's consent that approves the grants."""
