// Card details go from the browser to Stripe, never to CloudMart: Stripe answers with a
// PaymentMethod id (pm_...), and only that id travels with the order.
//
// This posts to Stripe's API with the publishable key, as Stripe.js does underneath; locally
// the API is localstripe. Production in live mode swaps this form for Stripe Elements
// (docs/adr/0013-web-storefront.md).
import { ApiError } from "./client";
import type { WebConfig } from "./types";

export interface CardInput {
  number: string;
  expMonth: string;
  expYear: string;
  cvc: string;
}

export async function createPaymentMethod(config: WebConfig, card: CardInput): Promise<string> {
  const form = new URLSearchParams({
    key: config.stripe_publishable_key,
    type: "card",
    "card[number]": card.number.replace(/\s+/g, ""),
    "card[exp_month]": card.expMonth,
    "card[exp_year]": card.expYear,
    "card[cvc]": card.cvc,
  });
  let response: Response;
  try {
    response = await fetch(`${config.stripe_api_base}/v1/payment_methods`, { method: "POST", body: form });
  } catch {
    throw new ApiError(0, "Card service unreachable", "The card could not be checked. Try again.");
  }
  const body = (await response.json().catch(() => ({}))) as {
    id?: string;
    error?: { message?: string; code?: string };
  };
  if (!response.ok || !body.id) {
    const message = body.error?.message ?? "The card was not accepted.";
    throw new ApiError(response.status, "Card not accepted", message, { code: body.error?.code });
  }
  return body.id;
}
