-- The home-made runtime's membership and grain directory are gone: Orleans keeps membership in
-- OrleansMembershipTable (0005) and its directory in memory. What the planner still needs of a node
-- beyond Orleans' view of which silos are active is what each node offers to model allocations.
DROP TABLE IF EXISTS grain_directory;
DROP TABLE IF EXISTS silos;

-- One row per ML node (silo name): written by the node as it joins.
CREATE TABLE IF NOT EXISTS ml_nodes (
    node                 text    PRIMARY KEY,
    allocated_processors integer NOT NULL CHECK (allocated_processors >= 0),
    memory_bytes         bigint  NOT NULL CHECK (memory_bytes >= 0),
    modified_on          timestamptz NOT NULL DEFAULT now()
);
