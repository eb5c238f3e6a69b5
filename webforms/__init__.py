"""The site's forms, in one place: the definitions in `forms/*.toml`, and this code.

- `webforms.names`: the field names every form posts besides its own (consent, honeypot,
  token, start time, source), defined here only.
- `webforms.definitions`: reads and checks `forms/<id>.toml` (`load_forms`, `get_form`).
- `webforms.render`: the form's HTML and the endpoint's error page.

The theme's `forms` plugin and the endpoint both import from here; nothing here imports
either of them, Pelican or Jinja, so the endpoint stays quick to start. Nothing is
imported by this file itself for the same reason: the endpoint loads `render` only for
an error page.
"""
