"""What the backend tells its operators: logs, metrics, error reports and outages."""
