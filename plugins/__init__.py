"""Our Pelican plugins, one package each (pelicanconf.py names them as `plugins.NAME`),
and the modules they share: content_fields (the fields of each kind of content),
content_meta (reading metadata) and pelican_private (Pelican's private API, in one place)."""
