"""The training step: the loss, the Lightning module, collocation data, compile, DDP hooks."""
