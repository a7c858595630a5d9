"""Assembling PDF packets: signature and date fields where the form's lines are, PDF/A and
tagged structure, the visible signature's text, the review packet."""
