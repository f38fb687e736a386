"""Saved cards: a Stripe customer per user, its payment methods."""

import logging

from sqlalchemy.dialects.postgresql import insert

from cloudmart_payments import repository
from cloudmart_payments.errors import (
    CardNotFound,
    InvalidPaymentMethod,
)
from cloudmart_payments.models import SavedCard, StripeCustomer
from cloudmart_payments.service.base import ServiceBase
from cloudmart_payments.stripe_gateway import StripeRefused

log = logging.getLogger(__name__)

MAX_SAVED_CARDS = 20


class Cards(ServiceBase):
    # -- saved cards ---------------------------------------------------------------------

    async def save_card(self, user_id: int, payment_method: str) -> SavedCard:
        async with self._sessions() as session:
            existing = await repository.saved_card(session, user_id, payment_method)
            if existing is not None:
                return existing
            if await repository.card_owner(session, payment_method) is not None:
                # Saved by another user: refused before Stripe is asked to move it.
                raise InvalidPaymentMethod("this payment method belongs to someone else")
            if await repository.saved_card_count(session, user_id) >= MAX_SAVED_CARDS:
                raise InvalidPaymentMethod(f"at most {MAX_SAVED_CARDS} cards can be saved")
            customer = await repository.customer_of(session, user_id)
        if customer is None:
            customer = await self._new_customer(user_id)
        try:
            card = await self._stripe.attach_card(payment_method, customer)
        except StripeRefused as exc:
            raise InvalidPaymentMethod(exc.message, code=exc.code) from None
        async with self._sessions() as session, session.begin():
            await session.execute(
                insert(SavedCard)
                .values(
                    id=card.id,
                    user_id=user_id,
                    brand=card.brand,
                    last4=card.last4,
                    exp_month=card.exp_month,
                    exp_year=card.exp_year,
                )
                .on_conflict_do_nothing(index_elements=[SavedCard.id])
            )
            saved = await repository.saved_card(session, user_id, card.id)
        if saved is None:  # attached to this user's customer, yet saved by another user: never
            raise InvalidPaymentMethod("this payment method belongs to someone else")
        return saved

    async def _new_customer(self, user_id: int) -> str:
        created = await self._stripe.create_customer(user_id)
        async with self._sessions() as session, session.begin():
            await session.execute(
                insert(StripeCustomer)
                .values(user_id=user_id, customer_id=created)
                .on_conflict_do_nothing(index_elements=[StripeCustomer.user_id])
            )
            # A concurrent first save may have won: everyone uses the stored customer.
            customer = await repository.customer_of(session, user_id)
        assert customer is not None
        return customer

    async def cards(
        self, user_id: int, limit: int, cursor: str | None
    ) -> tuple[list[SavedCard], str | None]:
        async with self._sessions() as session:
            cards = await repository.saved_cards(session, user_id, limit + 1, cursor)
        if len(cards) > limit:
            return cards[:limit], cards[limit - 1].id
        return cards, None

    async def remove_card(self, user_id: int, card_id: str) -> None:
        async with self._sessions() as session:
            card = await repository.saved_card(session, user_id, card_id)
        if card is None:
            raise CardNotFound(f"no saved card {card_id}")
        try:
            await self._stripe.detach_card(card_id)
        except StripeRefused as exc:
            log.info("card %s was already detached at Stripe: %s", card_id, exc.message)
        async with self._sessions() as session, session.begin():
            await session.delete(await session.merge(card))
