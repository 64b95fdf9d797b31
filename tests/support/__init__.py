"""Helpers for tests: local protocol servers that replay recorded payloads."""
