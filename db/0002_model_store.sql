-- The trained-model store. A model's configuration is the state of its TrainedModelGrain
-- (grain_state: grain_type 'trainedmodel', state_name 'config'); here are the shared namespace and
-- the large payloads that do not belong in a grain's JSON state.

-- Model ids, deployment ids and aliases are one namespace (ES: they must not collide). The unique
-- key is the enforcement; nobody checks with a prior read. A deployment whose id equals its own
-- model's id needs no row: the model's row already holds that id.
CREATE TABLE IF NOT EXISTS ml_ids (
    id       text NOT NULL PRIMARY KEY,
    kind     text NOT NULL CHECK (kind IN ('model', 'deployment', 'alias')),
    model_id text NOT NULL  -- the model this id belongs to (itself for a model)
);
CREATE INDEX IF NOT EXISTS ml_ids_by_model ON ml_ids (model_id);

-- Definition parts as uploaded (base64-decoded), in any order.
CREATE TABLE IF NOT EXISTS model_definition_parts (
    model_id                text    NOT NULL,
    part                    integer NOT NULL,
    total_parts             integer NOT NULL,
    total_definition_length bigint  NOT NULL,
    definition              bytea   NOT NULL,
    PRIMARY KEY (model_id, part)
);

CREATE TABLE IF NOT EXISTS model_vocabulary (
    model_id   text  NOT NULL PRIMARY KEY,
    vocabulary jsonb NOT NULL,   -- {"vocabulary": [...], "merges": [...], "scores": [...]}
    modified_on timestamptz NOT NULL DEFAULT now()
);
