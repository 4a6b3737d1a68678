"""Changing the platform: a plan executed (execute) under the project's lock (lock), and
existing objects brought under management (importer)."""
