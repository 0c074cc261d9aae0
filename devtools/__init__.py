"""What the developer tools share (tests, bench/, scripts/): the browser they drive and
the servers they start. Not part of the app, and not shipped in its image."""
