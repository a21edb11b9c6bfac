-- PostgreSQL's version 19 puts every tenant-owned table behind a row-level
-- security policy. SQLite has no such thing: one file is one installation,
-- and its tenants are kept apart by the queries alone. This migration keeps
-- the two engines' version numbers in step.
SELECT 1;
