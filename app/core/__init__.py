"""Settings, security primitives, and what guards every HTTP answer (security headers,
draining before a stop)."""
