-- The next free request slot of each credential's rate limit, shared by
-- every host process on this database (microseconds since the Unix epoch).
-- The key is the SHA-256 of the credential's name, never the credential.
CREATE TABLE rate_slots (
    bucket        TEXT PRIMARY KEY,
    next_free_us  BIGINT NOT NULL
);
