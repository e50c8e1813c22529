"""Optimizers deepinn adds to torch's: full-memory self-scaled quasi-Newton (SSBroyden, SSBFGS)."""
