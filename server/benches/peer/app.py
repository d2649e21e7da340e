"""The Python peer `just bench` measures the list route against (BENCH_PEER=1).

FastAPI + asyncpg, written as a careful Python implementation of the same route
would be: HS256 JWT checked (audience `authenticated`), the per-user limit in
Redis (one script call, as the Rust server's GCRA), the tenant transaction with
transaction-local claims for RLS as the app role, the same SELECT, and the same
response shape and headers. Only this route: it is a yardstick, not a server.
"""

import json
import os
import uuid

import asyncpg
import jwt
import redis.asyncio as redis
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

SECRET = os.environ["JWT_SECRET"]
LIMIT = int(os.environ.get("RATE_LIMIT_PER_HOUR", "1000000000"))
COLUMNS = os.environ["FILE_COLUMNS"]
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


@app.get("/api/v1/knowledge/files")
async def list_files(request: Request):
    request_id = request.headers.get("x-request-id") or str(uuid.uuid4())
    auth = request.headers.get("authorization", "")
    if not auth.lower().startswith("bearer "):
        return problem(401, "missing_token", "A bearer token is required.", request_id)
    try:
        claims = jwt.decode(auth[7:], SECRET, algorithms=["HS256"], audience="authenticated")
        sub = uuid.UUID(claims["sub"])
    except Exception:
        return problem(401, "invalid_token", "The token is not valid.", request_id)
    used, ttl = await state["window"](keys=[f"rl:{sub}"])
    if used > LIMIT:
        return problem(429, "rate_limited", "Too many requests.", request_id)
    async with state["pool"].acquire() as conn:
        async with conn.transaction():
            await conn.execute("SELECT set_config('request.jwt.claims', $1, true)", json.dumps(claims))
            rows = await conn.fetch(LIST_SQL, sub, None, None, 51)
    items = [
        {"id": str(r["id"]), "filename": r["filename"], "mime_type": r["mime_type"],
         "size_bytes": r["size_bytes"], "sha256": r["sha256"], "metadata": None,
         "created_at": r["created_at"].isoformat()}
        for r in rows[:50]
    ]
    next_cursor = items[-1]["id"] if len(rows) > 50 else None
    return JSONResponse(
        {"items": items, "next_cursor": next_cursor},
        headers={
            "X-Request-ID": request_id,
            "X-RateLimit-Limit": str(LIMIT),
            "X-RateLimit-Remaining": str(max(LIMIT - used, 0)),
            "X-RateLimit-Reset": str(max(ttl, 0)),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        },
    )
