"""Shared library every CloudMart service mounts: one way to do each cross-cutting thing."""
