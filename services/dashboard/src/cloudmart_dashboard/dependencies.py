"""What routes get from the composition root (app.state), as FastAPI dependencies."""

from typing import Annotated

from fastapi import Depends

from cloudmart_common.service_app import from_state
from cloudmart_dashboard.repository import ResultStore

Results = Annotated[ResultStore, Depends(from_state("results"))]
