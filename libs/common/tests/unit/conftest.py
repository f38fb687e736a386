"""An app built the way every service builds its own, with no dependencies to open."""

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager

import pytest
from fastapi import APIRouter, FastAPI

from cloudmart_common.readiness import DependencyCheck
from cloudmart_common.service_app import create_service_app
from cloudmart_common.settings import CommonSettings

MakeApp = Callable[..., FastAPI]


@asynccontextmanager
async def _no_resources(app: FastAPI) -> AsyncIterator[Sequence[DependencyCheck]]:
    yield []


@pytest.fixture(scope="module")
def make_app() -> MakeApp:
    def make(*routers: APIRouter, service_name: str = "test") -> FastAPI:
        return create_service_app(
            title="test",
            settings=CommonSettings(service_name=service_name),
            resources=_no_resources,
            routers=routers,
        )

    return make
