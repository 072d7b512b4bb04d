"""A local stand-in for an Azure Log Analytics workspace."""
