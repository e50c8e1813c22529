"""The run's settings: ``RunConfig``, optimizer presets and phases."""
