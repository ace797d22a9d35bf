"""The orchestrator's JSON API, one blueprint per resource."""
