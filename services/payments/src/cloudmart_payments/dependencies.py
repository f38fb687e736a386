"""What routes get from the composition root (app.state), as FastAPI dependencies."""

from typing import Annotated

from fastapi import Depends

from cloudmart_common.idempotency import IdempotencyStore
from cloudmart_common.service_app import from_state
from cloudmart_payments.service import PaymentService
from cloudmart_payments.stripe_gateway import StripeGateway

Payments = Annotated[PaymentService, Depends(from_state("payments"))]
Idempotency = Annotated[IdempotencyStore, Depends(from_state("idempotency"))]
Stripe = Annotated[StripeGateway, Depends(from_state("stripe"))]
