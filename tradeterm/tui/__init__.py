"""The operator console: the ONLY package that imports Textual."""
