"""Placeholder; filled in below."""


def register():
    """Connect the plugin's signals."""
