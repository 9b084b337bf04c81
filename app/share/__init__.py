"""Share links: a config in a URL, and an address students can reach."""
