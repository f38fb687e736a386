// The catalog: search, category and price filters, paging by cursor.
import { useState } from "preact/hooks";
import { api } from "../../api/client";
import type { CategoryCount, Page, Product } from "../../api/types";
import { ErrorBox, Loading } from "../../components/feedback";
import { Field, Select, formValues } from "../../components/form";
import { Pager, useCursors } from "../../components/pager";
import { useApi } from "../../hooks";
import { money } from "../../format";
import { Link } from "../../router";
import { addToCart, cart } from "../../state/cart";

const PAGE_SIZE = 12;

interface Filters {
  q: string;
  category: string;
  min_price: string;
  max_price: string;
  in_stock: string;
}

const NO_FILTERS: Filters = { q: "", category: "", min_price: "", max_price: "", in_stock: "" };

export function Catalog() {
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  // Cursors of the pages seen so far: "previous" goes back one.
  const cursors = useCursors();
  const cursor = cursors.cursor;
  const categories = useApi((signal) => api<{ items: CategoryCount[] }>("/products/categories", { signal }), []);
  const products = useApi(
    (signal) =>
      api<Page<Product>>("/products", {
        query: { ...filters, limit: PAGE_SIZE, cursor },
        signal,
        anonymous: true,
      }),
    [filters, cursor],
  );

  const search = (event: Event) => {
    event.preventDefault();
    const v = formValues(event);
    setFilters({ ...NO_FILTERS, ...v, in_stock: v.in_stock ? "true" : "" });
    cursors.reset();
  };

  return (
    <section>
      <h1>Shop</h1>
      <form class="filters" role="search" onSubmit={search} aria-label="Filter products">
        <Field label="Search" name="q" type="search" placeholder="Name or description" maxLength={100} />
        <Select
          label="Category"
          name="category"
          options={[
            { value: "", label: "All categories" },
            ...(categories.data?.items ?? []).map((c) => ({
              value: c.category,
              label: `${c.category} (${c.product_count})`,
            })),
          ]}
        />
        <Field label="Min price" name="min_price" type="number" min="0" step="0.01" inputMode="decimal" />
        <Field label="Max price" name="max_price" type="number" min="0" step="0.01" inputMode="decimal" />
        <label class="check">
          <input type="checkbox" name="in_stock" value="true" /> In stock only
        </label>
        <button type="submit">Search</button>
      </form>
      <ErrorBox error={products.error} />
      {products.loading && !products.data ? (
        <Loading what="Loading products" />
      ) : (
        <>
          {products.data?.items.length === 0 && <p>No products match.</p>}
          <ul class="grid" aria-busy={products.loading} data-testid="product-list">
            {products.data?.items.map((p) => <ProductCard key={p.id} product={p} />)}
          </ul>
          <Pager cursors={cursors} next={products.data?.next_cursor} labels={["Previous", "Next"]} showPage />
        </>
      )}
    </section>
  );
}

function ProductCard({ product }: { product: Product }) {
  const inCart = cart.value.find((l) => l.productId === product.id)?.quantity ?? 0;
  return (
    <li class="card" data-testid="product-card">
      <Link href={`/products/${product.id}`}>
        <h2>{product.name}</h2>
      </Link>
      <p class="muted">{product.category}</p>
      <p class="price">{money(product.price)}</p>
      <p class={product.stock_quantity > 0 ? "stock" : "stock out"}>
        {product.stock_quantity > 0 ? `${product.stock_quantity} in stock` : "Out of stock"}
      </p>
      <button
        type="button"
        disabled={product.stock_quantity <= inCart}
        onClick={() => addToCart(product)}
        aria-label={`Add ${product.name} to cart`}
      >
        Add to cart{inCart > 0 ? ` (${inCart})` : ""}
      </button>
    </li>
  );
}
