"""Key-value storage for the runtime: backends (memory, LevelDB), the transactional overlay and
typed storage items."""
