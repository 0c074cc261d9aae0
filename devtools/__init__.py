"""What the developer tools share (tests, bench/, scripts/): the browser they drive, the
servers they start and a tab's socket.io session with the backend. Not part of the app,
and not shipped in its image."""
