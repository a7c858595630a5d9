"""Publishing a batch: the files and ledger records placed, the review (summaries, review
packet, Board consent), and checking a kit's templates."""
