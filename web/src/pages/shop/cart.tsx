// The cart: quantities, total, on to checkout.
import { money } from "../../format";
import { Link, navigate } from "../../router";
import { cart, cartTotal, setQuantity } from "../../state/cart";
import { currentUser } from "../../state/session";

export function CartPage() {
  const lines = cart.value;
  if (lines.length === 0) {
    return (
      <section>
        <h1>Your cart</h1>
        <p>
          Your cart is empty. <Link href="/">Browse the shop</Link>
        </p>
      </section>
    );
  }
  return (
    <section>
      <h1>Your cart</h1>
      <table class="lines">
        <caption class="sr-only">Products in your cart</caption>
        <thead>
          <tr>
            <th scope="col">Product</th>
            <th scope="col">Price</th>
            <th scope="col">Quantity</th>
            <th scope="col">Subtotal</th>
            <th scope="col"><span class="sr-only">Remove</span></th>
          </tr>
        </thead>
        <tbody>
          {lines.map((line) => (
            <tr key={line.productId} data-testid="cart-line">
              <td>
                <Link href={`/products/${line.productId}`}>{line.name}</Link>
              </td>
              <td>{money(line.price)}</td>
              <td>
                <input
                  type="number"
                  min="0"
                  max={String(line.stock)}
                  value={line.quantity}
                  aria-label={`Quantity of ${line.name}`}
                  onChange={(e) => setQuantity(line.productId, Math.max(0, Number((e.target as HTMLInputElement).value) || 0))}
                />
              </td>
              <td>{money(line.price * line.quantity)}</td>
              <td>
                <button type="button" class="link" onClick={() => setQuantity(line.productId, 0)}>
                  Remove <span class="sr-only">{line.name}</span>
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <p class="total">
        Total <strong data-testid="cart-total">{money(cartTotal.value)}</strong>
      </p>
      <button type="button" onClick={() => navigate(currentUser.value ? "/checkout" : "/login?next=/checkout")}>
        Checkout
      </button>
    </section>
  );
}
