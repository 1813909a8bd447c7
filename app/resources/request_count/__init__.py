"""The request counter: how many requests the server has answered."""
