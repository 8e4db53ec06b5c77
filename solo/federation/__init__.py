"""ActivityPub and its companions: discovery, signatures, fetching, inbox, delivery."""
