"""Business logic of the orchestrator: plain values in, plain values out, no Flask request."""
