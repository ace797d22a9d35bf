"""Helpers the tests share: processes on free ports, an SSE client, API factories."""
