"""QA scenarios: hosts, users, devices, policies and a timeline, in YAML."""
