"""What routes get from the composition root (app.state), as FastAPI dependencies."""

from typing import Annotated

from fastapi import Depends

from cloudmart_common.service_app import from_state
from cloudmart_notifications.repository import SentLog
from cloudmart_notifications.service import Notifier
from cloudmart_notifications.templating import Templates

Notifications = Annotated[Notifier, Depends(from_state("notifier"))]
Deliveries = Annotated[SentLog, Depends(from_state("sent_log"))]
TemplateSet = Annotated[Templates, Depends(from_state("templates"))]
