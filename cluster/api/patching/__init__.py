"""Patch formats the API server accepts: JSON merge, strategic merge, JSON patch.

The public entry point is `cluster.api.patch`; the modules here hold one format each, so
each stays small enough to read against its specification (RFC 7386, RFC 6902, and
apimachinery's strategic merge patch).
"""
