"""The `/api/v1` REST contract, mounted into the Reflex backend."""
