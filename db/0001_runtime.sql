-- The virtual-actor runtime's tables: membership, grain directory, grain state.
-- Applied once by the schema migrator (recorded in schema_version); must stay idempotent anyway.

CREATE TABLE IF NOT EXISTS silos (
    silo_id              text        NOT NULL,      -- stable node name (Node:Name)
    generation           bigint      NOT NULL,      -- grows on every start of that node
    address              text        NOT NULL,      -- host:port of its silo-to-silo endpoint
    gateway_address      text        NULL,          -- host:port clients may connect to
    status               text        NOT NULL,      -- joining | active | shutting_down | dead
    allocated_processors integer     NOT NULL,
    memory_bytes         bigint      NOT NULL,
    start_time           timestamptz NOT NULL DEFAULT now(),
    heartbeat            timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (silo_id, generation)
);

CREATE TABLE IF NOT EXISTS grain_directory (
    grain_id        text        PRIMARY KEY,        -- "<grain type>/<key>"
    silo_id         text        NOT NULL,
    silo_generation bigint      NOT NULL,
    activation_id   uuid        NOT NULL,
    created_on      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS grain_directory_by_silo ON grain_directory (silo_id, silo_generation);

-- The grain type is part of the key (Orleans' ADO.NET storage keys by state name only: #8746).
CREATE TABLE IF NOT EXISTS grain_state (
    grain_type  text        NOT NULL,
    grain_key   text        NOT NULL,
    state_name  text        NOT NULL,
    payload     jsonb       NULL,                   -- NULL after ClearStateAsync
    version     integer     NOT NULL,
    modified_on timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (grain_type, grain_key, state_name)
);
