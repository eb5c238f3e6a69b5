"""Names a form posts besides its own fields, shared by the renderer and the endpoint.

Defined only here: the plugin, the renderer and the endpoint import them, so the page and
the endpoint cannot drift apart.
"""

# The box agreeing to the consent statement.
CONSENT = "consent"
# A text box people never see; anything in it marks a bot.
HONEYPOT = "_hp"
# A random token per page view, so a submission sent twice is stored once.
TOKEN = "_token"
# The signed time the page script fetched the form (the time trap).
STARTED = "_started"
# Where a signup came from (?source= or utm_source=); added to every form as hidden.
SOURCE = "source"
SOURCE_MAX_LENGTH = 100
