"""Information about the calling client: address, user agent, languages."""
