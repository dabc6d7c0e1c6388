"""Notifications to users: 精准推送 of matches and workflow notices."""
