"""One router per tag of the contract."""
