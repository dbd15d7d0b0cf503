-- One row per run of the partitions function (what it did, or why it skipped).
CREATE TABLE partition_maintenance_runs (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ran_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    skipped         TEXT,
    created         TEXT[] NOT NULL DEFAULT '{}',
    detached        TEXT[] NOT NULL DEFAULT '{}',
    dropped         TEXT[] NOT NULL DEFAULT '{}',
    rows_moved      BIGINT NOT NULL DEFAULT 0,
    rows_in_default JSONB NOT NULL DEFAULT '{}'::jsonb,
    duration_ms     BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX partition_maintenance_runs_ran_at_idx ON partition_maintenance_runs (ran_at DESC);
