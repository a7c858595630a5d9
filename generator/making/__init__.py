"""Making a batch's documents (render, convert, assemble, compare, in chunks), and the records
the stages pass on."""
