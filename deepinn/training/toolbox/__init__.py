"""The training toolbox used inside a step: loss weighting and causal weighting."""
