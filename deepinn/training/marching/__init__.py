"""Time marching: a strategy around single runs, one time window after another."""
