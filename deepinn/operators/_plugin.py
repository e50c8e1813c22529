"""Built-in plugin: registrations of this package (filled in by its module)."""
