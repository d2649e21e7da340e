-- Search that scales with the tenant: one GIN index serves the owner and the terms together.
--
-- btree_gin ships with PostgreSQL (contrib, in the official image and in Debian's
-- postgresql-15 package) and is a trusted extension (PostgreSQL 13+), so the database's
-- owner role may create it without a superuser. It gives GIN operator classes for plain
-- scalars such as uuid, so `owner_id = $2` and `search_vector @@ tsquery` are one index
-- condition: the scan reads only the caller's matching rows, whatever the size of the
-- caller's library or of their neighbours'. pg_trgm (also shipped) would index substrings,
-- which the web-search syntax never asks for.
--
-- Under forced row-level security the planner uses `@@` as an index condition only when
-- `ts_match_vq` is marked LEAKPROOF, which only a superuser can do; `provision_roles` does
-- it (see server/README.md, "Search"). Without it the results are the same, from a scan.
create extension if not exists btree_gin;
create index knowledge_files_owner_search on knowledge_files using gin (owner_id, search_vector);
-- The owner-and-terms index serves every search the terms-only index served.
drop index knowledge_files_search;
