"""The Python peer `just bench` measures list, get and search against (BENCH_PEER=0 skips it).

FastAPI + asyncpg, written as a careful Python implementation of the same routes
would be: HS256 JWT checked (audience `authenticated`), the per-user limit in
Redis (one script call, as the Rust server's GCRA), the tenant transaction with
transaction-local claims for RLS as the app role, the same SQL (FILE_COLUMNS and
SEARCH_SQL come from the Rust crate), and the same response shapes and headers.
Only these routes, and only the input checks they need: it is a yardstick, not a
server. Upload is not here: multipart parsing, hashing and AEAD in Python would
measure those libraries more than the framework.
"""

import json
import os
import time
import uuid

import asyncpg
import jwt
import redis.asyncio as redis
from fastapi import Body, FastAPI, Request
from fastapi.responses import JSONResponse

SECRET = os.environ["JWT_SECRET"]
LIMIT = int(os.environ.get("RATE_LIMIT_PER_HOUR", "1000000000"))
COLUMNS = os.environ["FILE_COLUMNS"]
SEARCH_SQL = os.environ["SEARCH_SQL"]
GET_SQL = f"SELECT {COLUMNS} FROM knowledge_files WHERE id = $1 AND owner_id = $2"
LIST_SQL = (
    f"SELECT {COLUMNS} FROM knowledge_files WHERE owner_id = $1 "
    "AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3)) "
    "ORDER BY created_at DESC, id DESC LIMIT $4"
)
# A fixed window per user and hour: INCR, and EXPIRE on the first hit.
WINDOW = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], 3600) end
return {n, redis.call('TTL', KEYS[1])}
"""

app = FastAPI()
state = {}


@app.on_event("startup")
async def startup():
    state["pool"] = await asyncpg.create_pool(os.environ["DATABASE_URL"], min_size=4, max_size=20)
    state["redis"] = redis.from_url(os.environ["REDIS_URL"])
    state["window"] = state["redis"].register_script(WINDOW)


@app.get("/health")
async def health():
    return {"status": "ok"}


def problem(status, code, detail, request_id):
    return JSONResponse(
        {"type": "about:blank", "title": code, "status": status, "code": code, "detail": detail,
         "suggestion": "Send a valid bearer token."},
        status_code=status,
        media_type="application/problem+json",
        headers={"X-Request-ID": request_id},
    )


async def authenticate(request: Request):
    """(claims, sub, headers) of an admitted request, or (problem response, None, None)."""
    request_id = request.headers.get("x-request-id") or str(uuid.uuid4())
    auth = request.headers.get("authorization", "")
    if not auth.lower().startswith("bearer "):
        return problem(401, "missing_token", "A bearer token is required.", request_id), None, None
    try:
        claims = jwt.decode(auth[7:], SECRET, algorithms=["HS256"], audience="authenticated")
        sub = uuid.UUID(claims["sub"])
    except Exception:
        return problem(401, "invalid_token", "The token is not valid.", request_id), None, None
    used, ttl = await state["window"](keys=[f"rl:{sub}"])
    if used > LIMIT:
        return problem(429, "rate_limited", "Too many requests.", request_id), None, None
    headers = {
        "X-Request-ID": request_id,
        "X-RateLimit-Limit": str(LIMIT),
        "X-RateLimit-Remaining": str(max(LIMIT - used, 0)),
        "X-RateLimit-Reset": str(max(ttl, 0)),
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
    }
    return claims, sub, headers


async def tenant_fetch(claims, sql, *args):
    """Runs `sql` in a transaction carrying the caller's claims, as RLS needs."""
    async with state["pool"].acquire() as conn:
        async with conn.transaction():
            await conn.execute("SELECT set_config('request.jwt.claims', $1, true)", json.dumps(claims))
            return await conn.fetch(sql, *args)


def file_info(r):
    return {"id": str(r["id"]), "filename": r["filename"], "mime_type": r["mime_type"],
            "size_bytes": r["size_bytes"], "sha256": r["sha256"], "metadata": None,
            "created_at": r["created_at"].isoformat()}


@app.get("/api/v1/knowledge/files")
async def list_files(request: Request):
    claims, sub, headers = await authenticate(request)
    if sub is None:
        return claims
    rows = await tenant_fetch(claims, LIST_SQL, sub, None, None, 51)
    items = [file_info(r) for r in rows[:50]]
    next_cursor = items[-1]["id"] if len(rows) > 50 else None
    return JSONResponse({"items": items, "next_cursor": next_cursor}, headers=headers)


@app.get("/api/v1/knowledge/files/{file_id}")
async def get_file(request: Request, file_id: uuid.UUID):
    claims, sub, headers = await authenticate(request)
    if sub is None:
        return claims
    rows = await tenant_fetch(claims, GET_SQL, file_id, sub)
    if not rows:
        return problem(404, "not_found", "No such file.", headers["X-Request-ID"])
    return JSONResponse(file_info(rows[0]), headers=headers)


@app.post("/api/v1/knowledge/search")
async def search(request: Request, body: dict = Body(...)):
    claims, sub, headers = await authenticate(request)
    if sub is None:
        return claims
    query, limit = body.get("query"), body.get("limit", 10)
    if not isinstance(query, str) or not query.strip() or len(query) > 512 \
            or not isinstance(limit, int) or not 1 <= limit <= 50:
        return problem(400, "validation_failed", "query 1-512 characters, limit 1-50.", headers["X-Request-ID"])
    started = time.monotonic()
    rows = await tenant_fetch(claims, SEARCH_SQL, query.replace("\0", " "), sub, limit)
    results = [{"file_id": str(r["file_id"]), "filename": r["filename"], "score": r["score"],
                "snippet": r["snippet"]} for r in rows]
    took_ms = int((time.monotonic() - started) * 1000)
    return JSONResponse({"results": results, "took_ms": took_ms}, headers=headers)
