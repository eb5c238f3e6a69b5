"""Benchmarks for the site build and the form endpoint (`invoke bench`)."""
