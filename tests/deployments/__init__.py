"""Tests of the Serve deployments and the database module."""
