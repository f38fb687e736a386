"""The notifications service's public contract: request and response bodies."""

from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from cloudmart_common.db import RowId

ChannelField = Literal["email", "sms", "push"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SentOut(BaseModel):
    """One delivery, as architecture.md §8 lists it (plus the error of a failed one)."""

    id: str
    event_id: str
    event_type: str
    channel: ChannelField
    recipient: str
    subject: str
    status: Literal["sent", "failed"]
    sent_at: str
    error: str = ""


class SentPage(BaseModel):
    items: list[SentOut]
    next_cursor: str | None


class ManualIn(Strict):
    """To a user (their email or phone from the users service) or to an explicit recipient.

    With the `manual` template give `subject` and `message`; another template takes `data`.
    """

    channel: ChannelField = "email"
    user_id: RowId | None = None
    # An address, a phone number or a device token: never a control character (CR, LF...).
    recipient: Annotated[str, StringConstraints(pattern=r"^[^\x00-\x1f\x7f]{3,254}$")] | None = None
    template: Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,50}$")] = "manual"
    subject: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    message: Annotated[str, StringConstraints(min_length=1, max_length=2000)] | None = None
    data: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def one_recipient(self) -> Self:
        if (self.user_id is None) == (self.recipient is None):
            raise ValueError("give exactly one of `user_id` and `recipient`")
        if self.template == "manual" and (self.subject is None or self.message is None):
            raise ValueError("the manual template needs `subject` and `message`")
        return self


class TemplateOut(BaseModel):
    name: str
    event_types: list[str]
    audience: str
    channels: list[ChannelField]
    description: str
    sample: dict[str, Any]


class TemplateList(BaseModel):
    items: list[TemplateOut]
    next_cursor: None = None


class PreviewIn(Strict):
    data: dict[str, Any] | None = Field(default=None, description="Omitted: the sample data")


class PreviewOut(BaseModel):
    subject: str
    text: str
    html: str
    sms: str | None
