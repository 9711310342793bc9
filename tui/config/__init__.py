"""Settings: one declaration per key (type, default, environment variable), from flags, env and TOML."""
