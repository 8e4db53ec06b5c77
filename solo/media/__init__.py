"""Media: uploads processed off the event loop, the storage backends, the remote media cache and
how files are served."""
