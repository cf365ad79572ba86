-- The home-made runtime's membership and grain directory are gone: Orleans keeps membership in
-- OrleansMembershipTable (0005) and its directory in memory.
DROP TABLE IF EXISTS grain_directory;
DROP TABLE IF EXISTS silos;
