"""The run service: ``fit``'s single run, callbacks, checkpoints, the run folder, signals,
progress, plots and metrics."""
