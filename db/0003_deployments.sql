-- The control plane: node capacity, deployment routes (a relational mirror of each deployment's
-- routing table, written in the same transaction as the deployment's state), ingest pipelines.

-- One row per ML node (the NodeCapacityGrain's state): what the node offers and what is planned on it.
CREATE TABLE IF NOT EXISTS node_capacity (
    node                 text    PRIMARY KEY,
    allocated_processors integer NOT NULL CHECK (allocated_processors >= 0),
    memory_bytes         bigint  NOT NULL CHECK (memory_bytes >= 0),
    normal_threads       integer NOT NULL DEFAULT 0,
    low_threads          integer NOT NULL DEFAULT 0,
    modified_on          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS deployment_routes (
    deployment_id          text    NOT NULL,
    node                   text    NOT NULL,
    model_id               text    NOT NULL,
    priority               text    NOT NULL CHECK (priority IN ('normal', 'low')),
    threads_per_allocation integer NOT NULL CHECK (threads_per_allocation >= 1),
    current_allocations    integer NOT NULL CHECK (current_allocations >= 0),
    target_allocations     integer NOT NULL CHECK (target_allocations >= 0),
    routing_state          text    NOT NULL,
    reason                 text    NULL,
    PRIMARY KEY (deployment_id, node)
);
CREATE INDEX IF NOT EXISTS deployment_routes_by_node ON deployment_routes (node);

-- Invariant 1, kept by the database itself: on every node the threads of normal-priority
-- allocations never exceed its allocated processors. Checked at commit, so a transaction may
-- move allocations around freely in between.
CREATE OR REPLACE FUNCTION check_node_threads() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    used integer;
    offered integer;
BEGIN
    SELECT COALESCE(SUM(GREATEST(current_allocations, target_allocations) * threads_per_allocation), 0) INTO used
    FROM deployment_routes
    WHERE node = NEW.node AND priority = 'normal' AND routing_state NOT IN ('failed', 'stopped');
    SELECT allocated_processors INTO offered FROM node_capacity WHERE node = NEW.node;
    IF used > COALESCE(offered, 0) THEN
        RAISE EXCEPTION 'node [%] would run % normal-priority threads on % allocated processors', NEW.node, used, COALESCE(offered, 0)
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS deployment_routes_threads ON deployment_routes;
CREATE CONSTRAINT TRIGGER deployment_routes_threads
    AFTER INSERT OR UPDATE ON deployment_routes
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION check_node_threads();

DROP TRIGGER IF EXISTS node_capacity_threads ON node_capacity;
CREATE CONSTRAINT TRIGGER node_capacity_threads
    AFTER INSERT OR UPDATE ON node_capacity
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION check_node_threads();

CREATE TABLE IF NOT EXISTS ingest_pipelines (
    id          text  PRIMARY KEY,
    body        jsonb NOT NULL,
    modified_on timestamptz NOT NULL DEFAULT now()
);

-- Which models (ids, deployment ids or aliases, as written) each pipeline's inference processors name.
CREATE TABLE IF NOT EXISTS pipeline_model_refs (
    pipeline_id text NOT NULL REFERENCES ingest_pipelines (id) ON DELETE CASCADE,
    model_id    text NOT NULL,
    PRIMARY KEY (pipeline_id, model_id)
);
CREATE INDEX IF NOT EXISTS pipeline_model_refs_by_model ON pipeline_model_refs (model_id);
