"""Idempotency-Key for POSTs (architecture.md §6): same key and body -> the first response."""

import asyncio
import hashlib
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import DateTime, Float, Integer, String, bindparam, delete, func, select, update
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.orm import Mapped, mapped_column

from cloudmart_common.db import CommonBase, Database, Statement
from cloudmart_common.errors import ConflictError, DomainError, UnprocessableError, status_for
from cloudmart_common.problem_details import PROBLEM_JSON, domain_problem_body

IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="A unique key per operation; retries with the same key and body are safe",
    ),
]


class IdempotencyRecord(CommonBase):
    __tablename__ = "idempotency_keys"

    # Scope = operation + caller, so one client's key never replays another's response.
    scope: Mapped[str] = mapped_column(String(200), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[Any | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    locked_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: Any


def stored_problem(error: DomainError, instance: str) -> StoredResponse:
    """A business failure (a decline) as the operation's final answer, replayed like a success."""
    return StoredResponse(status_for(error), domain_problem_body(error, instance))


def idempotent_response(stored: StoredResponse, replayed: bool) -> JSONResponse:
    """The HTTP answer of `IdempotencyStore.execute`; `Idempotent-Replayed` tells a retry apart."""
    return JSONResponse(
        stored.body,
        status_code=stored.status_code,
        media_type=PROBLEM_JSON if stored.status_code >= 400 else None,
        headers={"Idempotent-Replayed": str(replayed).lower()},
    )


class KeyReusedWithOtherRequest(UnprocessableError):
    title, slug = "Idempotency-Key reused", "idempotency-key-reused"


class RequestInProgress(ConflictError):
    title, slug = "Request in progress", "idempotency-in-progress"


def request_fingerprint(body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


class IdempotencyStore:
    """Runs an operation once per (scope, key), replaying its response to every retry.

    The operation returns the final response (success or a business failure such as a
    decline, both replayed). If it raises, the claim is dropped so that a retry runs it again.
    A claim left by a crashed process is taken over after `lock_seconds`.
    """

    def __init__(
        self, database: Database, *, wait_seconds: float = 10.0, lock_seconds: float = 60.0
    ) -> None:
        # Every step is one statement on the driver (db.Database): the take-over runs only if
        # the insert did not claim, and neither needs the other's transaction.
        self._database = database
        self._wait_seconds = wait_seconds
        self._lock_seconds = lock_seconds

    async def execute(
        self,
        *,
        scope: str,
        key: str,
        request: Any,
        operation: Callable[[], Awaitable[StoredResponse]],
    ) -> tuple[StoredResponse, bool]:
        """(response, replayed): run `operation` for a new key, else replay its first result."""
        fingerprint = request_fingerprint(request)
        deadline = time.monotonic() + self._wait_seconds
        while True:
            if await self._claim(scope, key, fingerprint):
                return await self._run(scope, key, operation), False
            record = await self._database.fetchrow(_READ, {"scope": scope, "key": key})
            if record is None:
                continue  # the claim was dropped between our two reads: try to claim again
            if record["request_hash"] != fingerprint:
                raise KeyReusedWithOtherRequest(
                    "this Idempotency-Key was already used with a different request"
                )
            if record["response_status"] is not None:
                return StoredResponse(record["response_status"], record["response_body"]), True
            if time.monotonic() > deadline:
                raise RequestInProgress("a request with this Idempotency-Key is still running")
            await asyncio.sleep(0.05)

    async def _claim(self, scope: str, key: str, fingerprint: str) -> bool:
        claim = {"scope": scope, "key": key, "request_hash": fingerprint}
        async with self._database.connection() as connection:
            if await connection.fetchval(_CLAIM, claim) is not None:
                return True
            taken_over = await connection.fetchval(
                _TAKE_OVER, claim | {"lock_seconds": self._lock_seconds}
            )
            return taken_over is not None

    async def _run(
        self, scope: str, key: str, operation: Callable[[], Awaitable[StoredResponse]]
    ) -> StoredResponse:
        try:
            response = await operation()
        except BaseException:
            await self._database.fetch(_DROP, {"scope": scope, "key": key})
            raise
        await self._database.fetch(
            _FINISH,
            {
                "scope": scope,
                "key": key,
                "response_status": response.status_code,
                "response_body": response.body,
            },
        )
        return response


_RECORD = IdempotencyRecord.__table__.c
_THIS_KEY = (_RECORD.scope == bindparam("scope"), _RECORD.key == bindparam("key"))
_CLAIM = Statement(
    insert(IdempotencyRecord)
    .values(scope=bindparam("scope"), key=bindparam("key"), request_hash=bindparam("request_hash"))
    .on_conflict_do_nothing()
    .returning(_RECORD.key)
)
# A claim whose holder crashed (locked longer than `lock_seconds`), for the same request.
_TAKE_OVER = Statement(
    update(IdempotencyRecord)
    .where(
        *_THIS_KEY,
        _RECORD.request_hash == bindparam("request_hash"),
        _RECORD.response_status.is_(None),
        _RECORD.locked_at
        < func.now() - func.make_interval(0, 0, 0, 0, 0, 0, bindparam("lock_seconds", type_=Float)),
    )
    .values(locked_at=func.now())
    .returning(_RECORD.key)
)
_READ = Statement(
    select(_RECORD.request_hash, _RECORD.response_status, _RECORD.response_body).where(*_THIS_KEY)
)
_DROP = Statement(delete(IdempotencyRecord).where(*_THIS_KEY))
_FINISH = Statement(
    update(IdempotencyRecord)
    .where(*_THIS_KEY)
    .values(
        response_status=bindparam("response_status"),
        response_body=bindparam("response_body", type_=JSONB),
        locked_at=None,
    )
)


async def answer_once(
    store: IdempotencyStore,
    *,
    operation: str,
    caller: str,
    key: str,
    body: BaseModel,
    run: Callable[[], Awaitable[StoredResponse]],
    final_errors: tuple[type[DomainError], ...] = (),
    instance: str,
) -> JSONResponse:
    """The one way a route runs an operation once per Idempotency-Key: `run` for a new key,
    the first answer for a retry. A `final_errors` refusal (a decline) is that first answer
    too; any other error is not stored, so the same key may try again.

    The scope is the operation and the caller (`Principal.subject`): one client's key never
    replays another's answer."""

    async def stored() -> StoredResponse:
        try:
            return await run()
        except final_errors as error:
            return stored_problem(error, instance)

    response, replayed = await store.execute(
        scope=f"{operation}:{caller}",
        key=key,
        request=body.model_dump(mode="json"),
        operation=stored,
    )
    return idempotent_response(response, replayed)
