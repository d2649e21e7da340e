-- A short pending list for the search index.
--
-- GIN defers new entries to a pending list that every search reads in full until VACUUM or
-- autoanalyze merges it into the index. At the default gin_pending_list_limit (4 MB) a busy
-- tenant's search read up to ~500 pending pages on each query: measured with `just bench`
-- (100,000 files in one tenant, 1,211 pending entries), the index scan took 2.0 ms with the
-- list and 0.6 ms after `gin_clean_pending_list`. 256 kB keeps most of fastupdate's batching
-- for uploads and bounds what a search reads to ~32 pages.
alter index knowledge_files_owner_search set (gin_pending_list_limit = 256);
