"""Rendering the Word documents from a kit's templates: the sandboxed Jinja environment, the
grant's fields, the form's wording, Word-native packaging."""
