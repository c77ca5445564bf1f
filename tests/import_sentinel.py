"""Imported by nothing: a test checks that a file naming it as an env module never imports it."""
