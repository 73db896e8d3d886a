"""Pipelines that run an experiment end to end, and their artifacts on disk."""
