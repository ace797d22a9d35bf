"""Code both services use: state table, event envelope, channels, pub/sub, schema, errors.

Nothing here imports from `orchestrator` or `tournament_service`.
"""
