"""Alliance leverage laboratory: an agent-based model (Mesa) of outreach, dilution and leverage."""

__version__ = "0.1.0"
