// One product: description, price, stock, add to cart.
import { useState } from "preact/hooks";
import { api } from "../../api/client";
import type { Product } from "../../api/types";
import { ErrorBox, Loading, Notice } from "../../components/feedback";
import { Field } from "../../components/form";
import { useApi } from "../../hooks";
import { money } from "../../format";
import { Link } from "../../router";
import { addToCart } from "../../state/cart";

export function ProductPage({ id }: { id: number }) {
  const product = useApi((signal) => api<Product>(`/products/${id}`, { signal, anonymous: true }), [id]);
  const [quantity, setQuantity] = useState(1);
  const [added, setAdded] = useState(false);
  if (product.loading && !product.data) return <Loading what="Loading the product" />;
  if (!product.data) return <ErrorBox error={product.error} />;
  const p = product.data;
  return (
    <article class="product">
      <p>
        <Link href="/">← Back to the shop</Link>
      </p>
      <h1>{p.name}</h1>
      {p.image_url && <img src={p.image_url} alt="" loading="lazy" />}
      <p class="muted">
        {p.category} · SKU {p.sku}
      </p>
      <p class="price">{money(p.price)}</p>
      <p class={p.stock_quantity > 0 ? "stock" : "stock out"} data-testid="stock">
        {p.stock_quantity > 0 ? `${p.stock_quantity} in stock` : "Out of stock"}
      </p>
      <p>{p.description}</p>
      <form
        class="inline"
        onSubmit={(e) => {
          e.preventDefault();
          addToCart(p, quantity);
          setAdded(true);
        }}
      >
        <Field
          label="Quantity"
          type="number"
          min="1"
          max={String(Math.max(p.stock_quantity, 1))}
          value={String(quantity)}
          onInput={(e) => setQuantity(Math.max(1, Number((e.target as HTMLInputElement).value) || 1))}
        />
        <button type="submit" disabled={p.stock_quantity < 1}>
          Add to cart
        </button>
      </form>
      {added && (
        <Notice>
          Added to your cart. <Link href="/cart">Go to the cart</Link>
        </Notice>
      )}
    </article>
  );
}
