"""The form endpoint: one small WSGI app that validates and stores form submissions.

Forms are defined once in `forms/<id>.toml` (read by `webforms.definitions`); the theme renders
them and this package validates against the same definitions. Imports are kept lazy so
a cold start (for example on AWS Lambda) stays fast.
"""
