"""What the notifications service refuses, as problem documents."""

from cloudmart_common.errors import NotFoundError, ServiceUnavailableError, UnprocessableError


class ChannelUnavailable(ServiceUnavailableError):
    title, slug = "Channel unavailable", "channel-unavailable"


class TemplateMissing(NotFoundError):
    title, slug = "No such template", "template-not-found"


class TemplateDataInvalid(UnprocessableError):
    title, slug = "Template data does not fit", "template-data-invalid"
