-- Tenant tables of the Knowledge API. Runs as knowledge_owner; the server connects as
-- knowledge_app, which gets only the privileges below and is bound by row-level security.

create table knowledge_files (
    id                  uuid primary key,
    owner_id            uuid not null,
    filename            text not null check (length(filename) between 1 and 255),
    mime_type           text not null,
    size_bytes          bigint not null check (size_bytes > 0),
    sha256              text not null check (sha256 ~ '^[0-9a-f]{64}$'),
    metadata_ciphertext bytea,
    metadata_nonce      bytea,
    metadata_key_id     text,
    -- Plain text the snippets are cut from: filename and the (capped) text of text-like files.
    -- Metadata is deliberately not stored here in clear; it only contributes lexemes below.
    search_text         text not null default '',
    search_vector       tsvector not null,
    created_at          timestamptz not null default now(),
    check ((metadata_ciphertext is null) = (metadata_nonce is null)
       and (metadata_nonce is null) = (metadata_key_id is null))
);
create index knowledge_files_owner_created on knowledge_files (owner_id, created_at desc, id desc);
create index knowledge_files_search on knowledge_files using gin (search_vector);

create table memories (
    id          uuid primary key,
    owner_id    uuid not null,
    session_id  text not null check (length(session_id) between 1 and 128),
    role        text not null check (role in ('user', 'assistant', 'system', 'tool')),
    content     text not null,
    metadata    jsonb not null default '{}'::jsonb check (jsonb_typeof(metadata) = 'object'),
    tags        text[] not null default '{}',
    importance  real check (importance between 0 and 1),
    source      text,
    token_count integer not null default 0,
    created_at  timestamptz not null default now(),
    updated_at  timestamptz not null default now(),
    expires_at  timestamptz
);
create index memories_owner_created on memories (owner_id, created_at desc, id desc);
create index memories_owner_session on memories (owner_id, session_id, created_at desc, id desc);

grant usage on schema public to knowledge_app;
grant select, insert, delete on knowledge_files to knowledge_app;
grant select, insert, update, delete on memories to knowledge_app;

-- Row-level security, forced so that even the owner role is bound by it. The caller id comes
-- from the transaction-local claims; an unset or empty setting yields NULL, so no row matches.
alter table knowledge_files enable row level security;
alter table knowledge_files force row level security;
create policy knowledge_files_tenant on knowledge_files
    using (owner_id = nullif(nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub', '')::uuid)
    with check (owner_id = nullif(nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub', '')::uuid);

alter table memories enable row level security;
alter table memories force row level security;
create policy memories_tenant on memories
    using (owner_id = nullif(nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub', '')::uuid)
    with check (owner_id = nullif(nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub', '')::uuid);
