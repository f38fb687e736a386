"""What routes get from the composition root (app.state), as FastAPI dependencies."""

from typing import Annotated

from fastapi import Depends

from cloudmart_common.idempotency import IdempotencyStore
from cloudmart_common.service_app import from_state
from cloudmart_orders.service import OrderService

Orders = Annotated[OrderService, Depends(from_state("orders"))]
Idempotency = Annotated[IdempotencyStore, Depends(from_state("idempotency"))]
