"""Sweep analysis: stored ``results.json`` files → tables (aggregate), scaling fits (fits), figures."""
