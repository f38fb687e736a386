"""What routes get from the composition root (app.state), as FastAPI dependencies."""

from typing import Annotated

from fastapi import Depends

from cloudmart_common.service_app import from_state
from cloudmart_products.service import Catalog

Products = Annotated[Catalog, Depends(from_state("catalog"))]
