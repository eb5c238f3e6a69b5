"""Comments on the site side: the renderer, the plugin, the theme and the feeds."""
