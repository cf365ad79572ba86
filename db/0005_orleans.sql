-- Microsoft Orleans 10.4.2 on PostgreSQL: what its ADO.NET clustering (Microsoft.Orleans.Clustering.AdoNet)
-- and grain storage (Microsoft.Orleans.Persistence.AdoNet) providers need. No Orleans package ships
-- SQL; the providers run only the statements stored in OrleansQuery under fixed keys, reading result
-- columns by name and binding @Name parameters, and a missing required key fails silo start-up.
--
-- Facts from dotnet/orleans (read as a specification, written anew here):
--   src/AdoNet/Shared/PostgreSQL-Main.sql                                  OrleansQuery
--   src/AdoNet/Orleans.Clustering.AdoNet/PostgreSQL-Clustering.sql          membership
--     + Migrations/PostgreSQL-Clustering-3.6.0.sql and -3.7.0.sql (timestamptz, CleanupDefunctSiloEntriesKey)
--     + Migrations/PostgreSQL-Clustering-AtomicWrites.sql: what the 10.4.2 package README calls the
--       improved scripts (version-first writes undone by RAISE, Dead-only cleanup, the optional
--       CleanupDefunctSiloEntryKey that the 10.4.2 provider uses when present)
--   src/AdoNet/Orleans.Persistence.AdoNet/PostgreSQL-Persistence.sql (+ Migrations/PostgreSQL-
--     Persistence-3.6.0.sql: ModifiedOn as timestamptz)                     grain state
--   and the C# that issues them (DbStoredQueries.cs, RelationalOrleansQueries.cs, AdoNetGrainStorage.cs),
--   checked against the 10.4.2 assemblies: parameter names, result columns and the keys read.
--
-- Applied once by the schema migrator (recorded in schema_version); idempotent anyway: tables and
-- indexes IF NOT EXISTS, functions OR REPLACE, queries upserted. Identifiers are unquoted, so
-- PostgreSQL folds them to lower case; Npgsql matches the providers' column names case-insensitively.
-- Old grain_state rows are not copied: the hash columns come from Orleans' own hasher.

-- The statements Orleans runs, by key ("SELECT QueryKey, QueryText FROM OrleansQuery" is hard-coded).
CREATE TABLE IF NOT EXISTS OrleansQuery (
    QueryKey  varchar(64)   NOT NULL,
    QueryText varchar(8000) NOT NULL,
    CONSTRAINT OrleansQuery_Key PRIMARY KEY (QueryKey)
);


-- ---------------------------------------------------------------------------------------------
-- Clustering. DeploymentId is ClusterOptions.ClusterId. Every membership change is an optimistic
-- write against the cluster's one version row: it succeeds only if Version still equals the
-- version the silo read, and bumps it. The providers read 1 as success and 0 as a lost race.
-- ---------------------------------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS OrleansMembershipVersionTable (
    DeploymentId varchar(150)   NOT NULL,
    Timestamp    timestamptz(3) NOT NULL DEFAULT now(),
    Version      integer        NOT NULL DEFAULT 0,      -- the membership table's ETag
    CONSTRAINT PK_OrleansMembershipVersionTable_DeploymentId PRIMARY KEY (DeploymentId)
);

-- One row per silo incarnation; a restart is a new Generation (seconds since 2022-01-01 UTC).
CREATE TABLE IF NOT EXISTS OrleansMembershipTable (
    DeploymentId varchar(150)   NOT NULL,
    Address      varchar(45)    NOT NULL,                -- silo-to-silo IP address
    Port         integer        NOT NULL,                -- silo port
    Generation   integer        NOT NULL,
    SiloName     varchar(150)   NOT NULL,                -- SiloOptions.SiloName
    HostName     varchar(150)   NOT NULL,
    Status       integer        NOT NULL,                -- SiloStatus: 1 Created, 2 Joining, 3 Active, 4 ShuttingDown, 5 Stopping, 6 Dead
    ProxyPort    integer        NULL,                    -- gateway port, 0 for none
    SuspectTimes varchar(8000)  NULL,                    -- "silo,time|silo,time": death votes
    StartTime    timestamptz(3) NOT NULL,
    IAmAliveTime timestamptz(3) NOT NULL,                -- heartbeat
    CONSTRAINT PK_MembershipTable_DeploymentId PRIMARY KEY (DeploymentId, Address, Port, Generation),
    CONSTRAINT FK_MembershipTable_MembershipVersionTable_DeploymentId
        FOREIGN KEY (DeploymentId) REFERENCES OrleansMembershipVersionTable (DeploymentId)
);

-- The version row, created once per cluster. 1 if this call created it.
CREATE OR REPLACE FUNCTION insert_membership_version(deployment_id varchar)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    inserted integer;
BEGIN
    INSERT INTO OrleansMembershipVersionTable (DeploymentId) VALUES (deployment_id)
    ON CONFLICT (DeploymentId) DO NOTHING;
    GET DIAGNOSTICS inserted = ROW_COUNT;
    RETURN inserted;
END $$;

-- A joining silo's row. The version row is updated first, so concurrent writers of one cluster queue
-- on its lock; if the silo's row already exists the version bump is undone (the block's exception
-- handler rolls back to its start). RAISE, not ASSERT, so plpgsql.check_asserts=off cannot skip it.
CREATE OR REPLACE FUNCTION insert_membership(
    deployment_id  varchar,
    address_arg    varchar,
    port_arg       integer,
    generation_arg integer,
    silo_name      varchar,
    host_name      varchar,
    status_arg     integer,
    proxy_port     integer,
    start_time     timestamptz,
    i_am_alive     timestamptz,
    version_arg    integer)
RETURNS integer LANGUAGE plpgsql AS $$
BEGIN
    UPDATE OrleansMembershipVersionTable
    SET Version = Version + 1, Timestamp = now()
    WHERE DeploymentId = deployment_id AND Version = version_arg AND Version < 2147483647;
    IF NOT FOUND THEN
        RETURN 0;                                        -- stale table version: nothing written
    END IF;

    INSERT INTO OrleansMembershipTable
        (DeploymentId, Address, Port, Generation, SiloName, HostName, Status, ProxyPort, StartTime, IAmAliveTime)
    VALUES
        (deployment_id, address_arg, port_arg, generation_arg, silo_name, host_name, status_arg, proxy_port, start_time, i_am_alive)
    ON CONFLICT (DeploymentId, Address, Port, Generation) DO NOTHING;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'membership row exists' USING ERRCODE = 'assert_failure';
    END IF;
    RETURN 1;
EXCEPTION
    WHEN assert_failure THEN
        RETURN 0;
END $$;

-- A status change or death vote (written by any silo). Same shape as insert_membership.
-- IAmAliveTime never moves backwards: a heartbeat written meanwhile is kept.
CREATE OR REPLACE FUNCTION update_membership(
    deployment_id  varchar,
    address_arg    varchar,
    port_arg       integer,
    generation_arg integer,
    status_arg     integer,
    suspect_times  varchar,
    i_am_alive     timestamptz,
    version_arg    integer)
RETURNS integer LANGUAGE plpgsql AS $$
BEGIN
    UPDATE OrleansMembershipVersionTable
    SET Version = Version + 1, Timestamp = now()
    WHERE DeploymentId = deployment_id AND Version = version_arg AND Version < 2147483647;
    IF NOT FOUND THEN
        RETURN 0;
    END IF;

    UPDATE OrleansMembershipTable
    SET Status = status_arg, SuspectTimes = suspect_times, IAmAliveTime = GREATEST(IAmAliveTime, i_am_alive)
    WHERE DeploymentId = deployment_id AND Address = address_arg AND Port = port_arg AND Generation = generation_arg;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'membership row missing' USING ERRCODE = 'assert_failure';
    END IF;
    RETURN 1;
EXCEPTION
    WHEN assert_failure THEN
        RETURN 0;
END $$;

-- A silo's own heartbeat: not versioned, its result is not read.
CREATE OR REPLACE FUNCTION update_i_am_alive_time(
    deployment_id  varchar,
    address_arg    varchar,
    port_arg       integer,
    generation_arg integer,
    i_am_alive     timestamptz)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    UPDATE OrleansMembershipTable
    SET IAmAliveTime = GREATEST(IAmAliveTime, i_am_alive)
    WHERE DeploymentId = deployment_id AND Address = address_arg AND Port = port_arg AND Generation = generation_arg;
END $$;


-- ---------------------------------------------------------------------------------------------
-- Grain state. A row is keyed by (ServiceId, state name, grain key): GrainTypeString holds the
-- *state name* given to [PersistentState]/[TransactionalState], not the grain class, so two grain
-- classes using one state name and key share a row. Version is the ETag: NULL in the grain before the
-- first write, then 1, 2, ... A write whose ETag is stale changes nothing and returns that same ETag
-- (or NULL on a first write), which the provider turns into InconsistentStateException.
-- ---------------------------------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS OrleansStorage (
    GrainIdHash            integer      NOT NULL,        -- Orleans' hash of the grain key (index lead)
    GrainIdN0              bigint       NOT NULL,        -- Guid key: first 8 bytes; otherwise 0
    GrainIdN1              bigint       NOT NULL,        -- Guid key: last 8 bytes; integer key: the key; string key: 0
    GrainTypeHash          integer      NOT NULL,        -- Orleans' hash of GrainTypeString
    GrainTypeString        varchar(512) NOT NULL,        -- the state name
    GrainIdExtensionString varchar(512) NULL,            -- string key, or the key extension; NULL if none
    ServiceId              varchar(150) NOT NULL,        -- ClusterOptions.ServiceId: never change it
    PayloadBinary          bytea        NULL,            -- serialized state (JSON with our serializer); NULL after a clear
    ModifiedOn             timestamptz  NOT NULL DEFAULT now(),
    Version                integer      NOT NULL
);

-- The logical key, unique. The reference schema has only a plain index on (GrainIdHash, GrainTypeHash)
-- and guards first inserts with WHERE NOT EXISTS, which two concurrent first writers can both pass
-- (READ COMMITTED), leaving two rows that make every later read of that grain fail. Here the index
-- decides: writetostorage inserts ON CONFLICT DO NOTHING, so the losing first writer, which waits for
-- the winner's commit, inserts nothing and gets the same InconsistentStateException as any stale
-- writer (with a plain INSERT it would get Npgsql's raw 23505 unique violation instead); see
-- tests/Storage.Tests/OrleansSchemaTests.cs, which fails against both other arrangements. The hashes lead, so
-- this index also serves the providers' lookups in place of the reference's plain index.
-- NULLS NOT DISTINCT (PostgreSQL 15): integer and Guid keys without extension have a NULL there.
-- Index entries are limited to ~2.7 kB, far above our keys (ids of at most a few hundred bytes).
CREATE UNIQUE INDEX IF NOT EXISTS OrleansStorage_Key ON OrleansStorage
    (GrainIdHash, GrainTypeHash, ServiceId, GrainTypeString, GrainIdN0, GrainIdN1, GrainIdExtensionString)
    NULLS NOT DISTINCT;

-- Returns the new version, or on a conflict the ETag passed in (NULL for a first write).
CREATE OR REPLACE FUNCTION writetostorage(
    grain_id_hash      integer,
    grain_id_n0        bigint,
    grain_id_n1        bigint,
    grain_type_hash    integer,
    grain_type         varchar,
    grain_id_extension varchar,
    service_id         varchar,
    grain_version      integer,
    payload            bytea)
RETURNS integer LANGUAGE plpgsql AS $$
BEGIN
    IF grain_version IS NULL THEN
        -- The grain read no row. If one exists (or a concurrent first writer commits one first),
        -- this grain's state is stale: insert nothing.
        INSERT INTO OrleansStorage
            (GrainIdHash, GrainIdN0, GrainIdN1, GrainTypeHash, GrainTypeString, GrainIdExtensionString,
             ServiceId, PayloadBinary, ModifiedOn, Version)
        VALUES
            (grain_id_hash, grain_id_n0, grain_id_n1, grain_type_hash, grain_type, grain_id_extension,
             service_id, payload, now(), 1)
        ON CONFLICT DO NOTHING;
        RETURN CASE WHEN FOUND THEN 1 END;
    END IF;

    UPDATE OrleansStorage
    SET PayloadBinary = payload, ModifiedOn = now(), Version = Version + 1
    WHERE GrainIdHash = grain_id_hash AND GrainTypeHash = grain_type_hash
        AND ServiceId = service_id AND GrainTypeString = grain_type
        AND GrainIdN0 = grain_id_n0 AND GrainIdN1 = grain_id_n1
        AND GrainIdExtensionString IS NOT DISTINCT FROM grain_id_extension
        AND Version = grain_version;
    RETURN CASE WHEN FOUND THEN grain_version + 1 ELSE grain_version END;
END $$;


-- ---------------------------------------------------------------------------------------------
-- The queries. Parameter names and result column names are the providers' contract.
-- ---------------------------------------------------------------------------------------------

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES

-- Clustering (Orleans.Clustering.AdoNet): the nine required keys, then the optional one.
('InsertMembershipVersionKey', $q$
    SELECT insert_membership_version(@DeploymentId);
$q$),

('InsertMembershipKey', $q$
    SELECT insert_membership(@DeploymentId, @Address, @Port, @Generation, @SiloName, @HostName,
                             @Status, @ProxyPort, @StartTime, @IAmAliveTime, @Version);
$q$),

('UpdateMembershipKey', $q$
    SELECT update_membership(@DeploymentId, @Address, @Port, @Generation, @Status, @SuspectTimes,
                             @IAmAliveTime, @Version);
$q$),

('UpdateIAmAlivetimeKey', $q$
    SELECT update_i_am_alive_time(@DeploymentId, @Address, @Port, @Generation, @IAmAliveTime);
$q$),

-- The version row always comes back (outer join), with or without the silo's row.
('MembershipReadRowKey', $q$
    SELECT v.DeploymentId, m.Address, m.Port, m.Generation, m.SiloName, m.HostName, m.Status,
           m.ProxyPort, m.SuspectTimes, m.StartTime, m.IAmAliveTime, v.Version
    FROM OrleansMembershipVersionTable v
    LEFT JOIN OrleansMembershipTable m
        ON m.DeploymentId = v.DeploymentId
        AND m.Address = @Address AND m.Port = @Port AND m.Generation = @Generation
    WHERE v.DeploymentId = @DeploymentId;
$q$),

('MembershipReadAllKey', $q$
    SELECT v.DeploymentId, m.Address, m.Port, m.Generation, m.SiloName, m.HostName, m.Status,
           m.ProxyPort, m.SuspectTimes, m.StartTime, m.IAmAliveTime, v.Version
    FROM OrleansMembershipVersionTable v
    LEFT JOIN OrleansMembershipTable m ON m.DeploymentId = v.DeploymentId
    WHERE v.DeploymentId = @DeploymentId;
$q$),

('DeleteMembershipTableEntriesKey', $q$
    DELETE FROM OrleansMembershipTable WHERE DeploymentId = @DeploymentId;
    DELETE FROM OrleansMembershipVersionTable WHERE DeploymentId = @DeploymentId;
$q$),

-- Clients' gateway list; @Status is Active (3).
('GatewaysQueryKey', $q$
    SELECT Address, ProxyPort, Generation
    FROM OrleansMembershipTable
    WHERE DeploymentId = @DeploymentId AND Status = @Status AND ProxyPort > 0;
$q$),

-- Required, but 10.4.2 runs it only when CleanupDefunctSiloEntryKey is absent: Dead rows idle since
-- before @IAmAliveTime (the cut-off) that carry no death votes (the votes' times can't be read here).
('CleanupDefunctSiloEntriesKey', $q$
    DELETE FROM OrleansMembershipTable
    WHERE DeploymentId = @DeploymentId AND Status = 6
        AND IAmAliveTime < @IAmAliveTime AND StartTime < @IAmAliveTime
        AND COALESCE(SuspectTimes, '') = '';
$q$),

-- Optional in 10.4.2 and used when present: the provider picks Dead rows whose start, heartbeat and
-- votes are all older than the cut-off, then deletes each only if it is still exactly as it read it.
('CleanupDefunctSiloEntryKey', $q$
    DELETE FROM OrleansMembershipTable
    WHERE DeploymentId = @DeploymentId AND Address = @Address AND Port = @Port AND Generation = @Generation
        AND Status = 6 AND StartTime = @StartTime AND IAmAliveTime = @IAmAliveTime
        AND COALESCE(SuspectTimes, '') = COALESCE(@SuspectTimes, '');
$q$),

-- Grain storage (Orleans.Persistence.AdoNet).
('WriteToStorageKey', $q$
    SELECT writetostorage(@GrainIdHash, @GrainIdN0, @GrainIdN1, @GrainTypeHash, @GrainTypeString,
                          @GrainIdExtensionString, @ServiceId, @GrainStateVersion, @PayloadBinary)
           AS NewGrainStateVersion;
$q$),

('ReadFromStorageKey', $q$
    SELECT PayloadBinary, Version
    FROM OrleansStorage
    WHERE GrainIdHash = @GrainIdHash AND GrainTypeHash = @GrainTypeHash
        AND ServiceId = @ServiceId AND GrainTypeString = @GrainTypeString
        AND GrainIdN0 = @GrainIdN0 AND GrainIdN1 = @GrainIdN1
        AND GrainIdExtensionString IS NOT DISTINCT FROM @GrainIdExtensionString;
$q$),

-- ClearStateAsync: keeps the row with a NULL payload and the next version.
('ClearStorageKey', $q$
    UPDATE OrleansStorage
    SET PayloadBinary = NULL, ModifiedOn = now(), Version = Version + 1
    WHERE GrainIdHash = @GrainIdHash AND GrainTypeHash = @GrainTypeHash
        AND ServiceId = @ServiceId AND GrainTypeString = @GrainTypeString
        AND GrainIdN0 = @GrainIdN0 AND GrainIdN1 = @GrainIdN1
        AND GrainIdExtensionString IS NOT DISTINCT FROM @GrainIdExtensionString
        AND Version = @GrainStateVersion
    RETURNING Version AS NewGrainStateVersion;
$q$),

-- ClearStateAsync with AdoNetGrainStorageOptions.DeleteStateOnClear: removes the row.
('DeleteStorageKey', $q$
    DELETE FROM OrleansStorage
    WHERE GrainIdHash = @GrainIdHash AND GrainTypeHash = @GrainTypeHash
        AND ServiceId = @ServiceId AND GrainTypeString = @GrainTypeString
        AND GrainIdN0 = @GrainIdN0 AND GrainIdN1 = @GrainIdN1
        AND GrainIdExtensionString IS NOT DISTINCT FROM @GrainIdExtensionString
        AND Version = @GrainStateVersion
    RETURNING Version + 1 AS NewGrainStateVersion;
$q$)

ON CONFLICT (QueryKey) DO UPDATE SET QueryText = EXCLUDED.QueryText;
