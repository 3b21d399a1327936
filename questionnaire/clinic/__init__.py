"""The clinic side: stored submissions, staff accounts and sessions, the audit log."""
