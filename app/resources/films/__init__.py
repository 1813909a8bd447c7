"""Films: listed, searched, one by one, and the films like a given one."""
