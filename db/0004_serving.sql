-- What a node needs to serve a route: its queue bound and result cache size (from the deployment's task parameters).
ALTER TABLE deployment_routes ADD COLUMN IF NOT EXISTS queue_capacity integer NOT NULL DEFAULT 1024;
ALTER TABLE deployment_routes ADD COLUMN IF NOT EXISTS cache_size_bytes bigint NOT NULL DEFAULT 0;
