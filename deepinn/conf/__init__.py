"""The packaged Hydra configuration of ``deepinn train`` (YAML files only)."""
