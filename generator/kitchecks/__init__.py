"""Checking a form kit before anything is rendered: its Word templates (sound, closed tags, known
fields, readable text) and what its forms, bookmarks and approved forms must agree on."""
