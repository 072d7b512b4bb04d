"""Removable devices as the agent sees them: discovery, classification, probing."""
