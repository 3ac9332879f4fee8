"""The shared vocabulary of Tocsin: domain model, errors, clock, settings and storage."""
