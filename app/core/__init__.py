"""Settings, database engines and security primitives."""
