// Checkout: shipping address, a card (tokenised at Stripe), the order placed once.
import { useRef } from "preact/hooks";
import { ApiError, api, newIdempotencyKey } from "../../api/client";
import { webConfig } from "../../api/config";
import { createPaymentMethod } from "../../api/stripe";
import type { Order, WebConfig } from "../../api/types";
import { ErrorBox, Loading } from "../../components/feedback";
import { Field, Select, formValues } from "../../components/form";
import { useAction, useApi } from "../../hooks";
import { money } from "../../format";
import { Link, navigate } from "../../router";
import { cart, cartTotal, clearCart } from "../../state/cart";
import { currentUser } from "../../state/session";

const REGIONS = [
  { value: "us-east", label: "US East" },
  { value: "us-west", label: "US West" },
  { value: "eu-west", label: "Europe West" },
  { value: "ap-south", label: "Asia Pacific South" },
];

export function Checkout() {
  const config = useApi<WebConfig>(() => webConfig(), []);
  // One key per attempt: a network retry replays the same order, a new attempt after an
  // answer (a decline) is a new order.
  const attempt = useRef(newIdempotencyKey());
  const place = useAction(async (v: Record<string, string>) => {
    const paymentMethod = await createPaymentMethod(config.data!, {
      number: v.card_number,
      expMonth: v.exp_month,
      expYear: v.exp_year,
      cvc: v.cvc,
    });
    try {
      const order = await api<Order>("/orders", {
        method: "POST",
        idempotencyKey: attempt.current,
        body: {
          items: cart.value.map((l) => ({ product_id: l.productId, quantity: l.quantity })),
          shipping_address: v.shipping_address,
          shipping_region: v.shipping_region,
          payment_method: paymentMethod,
        },
      });
      clearCart();
      navigate(`/orders/${order.id}?placed=1`);
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 0)) attempt.current = newIdempotencyKey();
      throw error;
    }
  });

  if (cart.value.length === 0) {
    return (
      <section>
        <h1>Checkout</h1>
        <p>
          Your cart is empty. <Link href="/">Browse the shop</Link>
        </p>
      </section>
    );
  }
  if (config.loading) return <Loading what="Preparing checkout" />;
  const declined = place.error instanceof ApiError && place.error.status === 402;
  return (
    <section class="checkout">
      <h1>Checkout</h1>
      <p>
        {cart.value.length} product{cart.value.length > 1 ? "s" : ""}, total{" "}
        <strong>{money(cartTotal.value)}</strong> (prices are confirmed when the order is placed).
      </p>
      <ErrorBox error={config.error} />
      <form
        onSubmit={(e) => {
          e.preventDefault();
          place.run(formValues(e));
        }}
        aria-describedby="test-cards"
      >
        <fieldset>
          <legend>Shipping</legend>
          <Field
            label="Shipping address"
            name="shipping_address"
            required
            minLength={5}
            maxLength={500}
            autoComplete="street-address"
            defaultValue={currentUser.value?.address ?? ""}
          />
          <Select label="Region" name="shipping_region" options={REGIONS} />
        </fieldset>
        <fieldset>
          <legend>Card</legend>
          <Field label="Card number" name="card_number" required inputMode="numeric" autoComplete="cc-number" pattern="[0-9 ]{12,23}" />
          <div class="row">
            <Field label="Expiry month" name="exp_month" required inputMode="numeric" pattern="[0-9]{1,2}" defaultValue="12" autoComplete="cc-exp-month" />
            <Field label="Expiry year" name="exp_year" required inputMode="numeric" pattern="[0-9]{4}" defaultValue="2034" autoComplete="cc-exp-year" />
            <Field label="CVC" name="cvc" required inputMode="numeric" pattern="[0-9]{3,4}" defaultValue="123" autoComplete="cc-csc" />
          </div>
        </fieldset>
        {declined ? (
          <div class="alert error" role="alert" data-testid="decline">
            <strong>Payment declined</strong>
            <p>{(place.error as ApiError).detail}</p>
            <p>Nothing was charged and the order was cancelled. Try another card.</p>
          </div>
        ) : (
          <ErrorBox error={place.error} />
        )}
        <button type="submit" disabled={place.busy || !config.data}>
          {place.busy ? "Placing your order…" : `Pay ${money(cartTotal.value)}`}
        </button>
      </form>
      {config.data && (
        <aside id="test-cards" class="hint">
          <h2>Test cards</h2>
          <p>This shop takes test payments only. Any future expiry date and any CVC work.</p>
          <ul>
            {config.data.test_cards.map((c) => (
              <li key={c.number}>
                <code>{c.number}</code>: {c.outcome}
              </li>
            ))}
          </ul>
        </aside>
      )}
    </section>
  );
}
