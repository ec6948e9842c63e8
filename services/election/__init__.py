"""`votewire election`: validate, load and list election definitions (one module a verb)."""
