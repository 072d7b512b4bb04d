"""Simulated Windows computers, fleets of them, and the MDM service they ask."""
