"""Pure data: API models, the note structure, database tables, settings and error types.

Nothing here performs I/O or imports other packages of this project.
"""
