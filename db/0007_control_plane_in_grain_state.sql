-- The control plane's state is now Orleans grain state in OrleansStorage (0005), written by Orleans transactions:
-- TrainedModelGrain 'trained-model', DeploymentGrain 'deployment', ModelAliasGrain 'model-alias',
-- NodeCapacityGrain 'node-capacity', the namespace 'ml-ids' and the coordinator's 'assignment-index'. Each row's
-- payload is a transactional record as JSON: {"CommittedState": …, "PendingStates": [{"State": …}, …], …}, and
-- each key is "<grain type>/<key>" (TypeScopedGrainStorage). The old relational copies go; views with their
-- names keep the committed state queryable (for operators, and for tests that check invariants in the rows).
-- Routes and capacity rows are derived again by the coordinator; they go. Models and aliases are the user's
-- data: their tables are kept as legacy_* until LegacyModelImport has brought them into the grains.
DROP TABLE IF EXISTS deployment_routes;
DROP TABLE IF EXISTS node_capacity;
DROP FUNCTION IF EXISTS check_node_threads();
DO $$
BEGIN
    IF to_regclass('grain_state') IS NOT NULL THEN ALTER TABLE grain_state RENAME TO legacy_grain_state; END IF;
    IF to_regclass('ml_ids') IS NOT NULL AND (SELECT relkind FROM pg_class WHERE oid = to_regclass('ml_ids')) = 'r' THEN
        ALTER TABLE ml_ids RENAME TO legacy_ml_ids;
    END IF;
END $$;

-- The committed state of every grain that keeps state under this name: its key (without the grain type) and state.
CREATE OR REPLACE FUNCTION ml_committed_states(state_name text) RETURNS TABLE (grain_key text, state jsonb)
LANGUAGE sql STABLE AS $$
    SELECT substr(grainidextensionstring, strpos(grainidextensionstring, '/') + 1),
           convert_from(payloadbinary, 'UTF8')::jsonb -> 'CommittedState'
    FROM orleansstorage
    WHERE graintypestring = state_name AND payloadbinary IS NOT NULL AND grainidextensionstring LIKE '%/%'
$$;

CREATE OR REPLACE VIEW ml_ids AS
    SELECT e.key AS id, e.value ->> 'Kind' AS kind, e.value ->> 'ModelId' AS model_id
    FROM ml_committed_states('ml-ids') s, jsonb_each(s.state -> 'Ids') e;

CREATE OR REPLACE VIEW ml_models AS
    SELECT grain_key AS model_id, state -> 'Config' AS config, state -> 'Progress' AS progress,
           (state ->> 'HasVocabulary')::boolean AS has_vocabulary
    FROM ml_committed_states('trained-model')
    WHERE jsonb_typeof(state -> 'Config') = 'object';

CREATE OR REPLACE VIEW ml_deployments AS
    SELECT grain_key AS deployment_id,
           state -> 'Assignment' -> 'task_parameters' ->> 'model_id' AS model_id,
           (state -> 'Assignment' -> 'task_parameters' ->> 'number_of_allocations')::integer AS number_of_allocations,
           state -> 'Assignment' ->> 'assignment_state' AS assignment_state,
           state -> 'Assignment' AS assignment
    FROM ml_committed_states('deployment')
    WHERE jsonb_typeof(state -> 'Assignment') = 'object';

CREATE OR REPLACE VIEW deployment_routes AS
    SELECT d.deployment_id, r.key AS node, d.model_id,
           d.assignment -> 'task_parameters' ->> 'priority' AS priority,
           (d.assignment -> 'task_parameters' ->> 'threads_per_allocation')::integer AS threads_per_allocation,
           (r.value ->> 'current_allocations')::integer AS current_allocations,
           (r.value ->> 'target_allocations')::integer AS target_allocations,
           r.value ->> 'routing_state' AS routing_state,
           r.value ->> 'reason' AS reason
    FROM ml_deployments d, jsonb_each(d.assignment -> 'routing_table') r;

-- The nodes of the plan: a node's committed reservations, while its silo's newest generation is active.
CREATE OR REPLACE VIEW node_capacity AS
    SELECT c.grain_key AS node,
           (c.state ->> 'Processors')::integer AS allocated_processors,
           (c.state ->> 'MemoryBytes')::bigint AS memory_bytes,
           (c.state ->> 'NormalThreads')::integer AS normal_threads,
           (c.state ->> 'LowThreads')::integer AS low_threads
    FROM ml_committed_states('node-capacity') c
    WHERE (SELECT m.status FROM orleansmembershiptable m WHERE m.siloname = c.grain_key ORDER BY m.generation DESC LIMIT 1) = 3;

-- Invariant 1, kept by PostgreSQL too, inside Orleans persistence: a NodeCapacityGrain row whose committed state or
-- any prepared state puts more normal-priority threads on the node than it has processors cannot be stored, so the
-- transaction that tried fails to prepare and aborts. The grain checks the same rule first; this is the backstop
-- that holds whatever the code does.
CREATE OR REPLACE FUNCTION ml_node_threads_fit(record jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT COALESCE(bool_and(
               COALESCE((SELECT sum((r.value ->> 'ThreadsPerAllocation')::integer * (r.value ->> 'Allocations')::integer)
                         FROM jsonb_each(COALESCE(s.state -> 'Reservations', '{}'::jsonb)) r
                         WHERE r.value ->> 'Priority' = 'normal'), 0)
               <= COALESCE((s.state ->> 'Processors')::integer, 0)), true)
    FROM (SELECT record -> 'CommittedState' AS state
          UNION ALL
          SELECT p -> 'State' FROM jsonb_array_elements(COALESCE(record -> 'PendingStates', '[]'::jsonb)) p) s
    WHERE jsonb_typeof(s.state) = 'object'
$$;

ALTER TABLE orleansstorage DROP CONSTRAINT IF EXISTS ml_node_threads_fit;
ALTER TABLE orleansstorage ADD CONSTRAINT ml_node_threads_fit
    CHECK (graintypestring <> 'node-capacity' OR payloadbinary IS NULL
           OR ml_node_threads_fit(convert_from(payloadbinary, 'UTF8')::jsonb));
