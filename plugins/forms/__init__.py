"""forms: render the forms defined in forms/*.toml inside the theme.

Templates call `{{ form_html("knowledge-donor") }}` (or with hidden values, such as
`form_html("training-registration", event=article.slug)`); the form posts to the endpoint
named in the `FORMS` setting. The HTML comes from `webforms.render`, the same code the
endpoint uses for its error pages, so the page and the endpoint never disagree; this
plugin only connects it to Pelican.
"""

from .plugin import register

__all__ = ["register"]
