"""The core every stage uses: the error hierarchy, atomic writes and the batch folder's lock,
the bundled files, text normalising, files set aside."""
