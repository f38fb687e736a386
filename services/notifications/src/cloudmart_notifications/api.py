"""Routes of the notifications service: the sent log, templates, manual sends."""

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from cloudmart_common.auth import AdminUser, NotificationSender
from cloudmart_notifications.dependencies import Deliveries, Notifications, TemplateSet
from cloudmart_notifications.schemas import (
    ManualIn,
    PreviewIn,
    PreviewOut,
    SentOut,
    SentPage,
    TemplateList,
    TemplateOut,
)
from cloudmart_notifications.templating import TEMPLATES, spec_named

router = APIRouter(prefix="/api/notifications", tags=["notifications"])


@router.get("", response_model=SentPage)
async def sent(
    sent_log: Deliveries,
    admin: AdminUser,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(pattern=r"^\d{1,20}-\d{1,20}$")] = None,
) -> SentPage:
    """The recent deliveries, newest first (admins)."""
    entries, next_cursor = await sent_log.recent(limit, cursor)
    return SentPage(items=[SentOut.model_validate(e) for e in entries], next_cursor=next_cursor)


@router.get("/templates", response_model=TemplateList)
async def templates(admin: AdminUser) -> TemplateList:
    return TemplateList(
        items=[
            TemplateOut(
                name=spec.name,
                event_types=list(spec.event_types),
                audience=spec.audience,
                channels=["email", "sms"] if spec.sms else ["email"],
                description=spec.description,
                sample=dict(spec.sample),
            )
            for spec in TEMPLATES.values()
        ]
    )


@router.post(
    "/templates/{name}/preview",
    response_model=PreviewOut,
    responses={422: {"description": "Validation failed, or the data does not fit the template"}},
)
async def preview(
    name: Annotated[str, Path(max_length=50)],
    renderer: TemplateSet,
    admin: AdminUser,
    body: PreviewIn | None = None,
) -> PreviewOut:
    """Render a template with its sample data or the data given (422 when it does not fit)."""
    spec = spec_named(name)
    data = body.data if body is not None and body.data is not None else dict(spec.sample)
    rendered = renderer.render(name, data)
    return PreviewOut(
        subject=rendered.subject, text=rendered.text, html=rendered.html, sms=rendered.sms
    )


@router.post(
    "/send",
    status_code=status.HTTP_201_CREATED,
    response_model=SentPage,
    responses={
        403: {"description": "Neither an admin nor a service granted notifications:send"},
        404: {"description": "No such template"},
        422: {"description": "Validation failed, or the data does not fit the template"},
        503: {"description": "The channel did not take the message"},
    },
)
async def send(body: ManualIn, notifier: Notifications, caller: NotificationSender) -> SentPage:
    """A message to one user or address now (admins, and services granted notifications:send).
    An empty list: the user is gone or has no address for that channel."""
    data = dict(body.data)
    if body.template == "manual":
        data |= {"subject": body.subject, "message": body.message}
    entries = await notifier.send_manual(
        channel=body.channel,
        template=body.template,
        data=data,
        user_id=body.user_id,
        recipient=body.recipient,
    )
    return SentPage(
        items=[SentOut.model_validate({"id": "", **vars(e)}) for e in entries], next_cursor=None
    )
