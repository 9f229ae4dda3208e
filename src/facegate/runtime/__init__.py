"""The intercom's live path: source -> tracker -> quality/liveness -> embedder -> matcher ->
decision -> door + journal. Each stage is its own module and does one thing."""
