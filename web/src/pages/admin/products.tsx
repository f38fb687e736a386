// Products for admins: create, edit, delete, adjust stock.
import { useState } from "preact/hooks";
import { api } from "../../api/client";
import type { Page, Product } from "../../api/types";
import { ErrorBox, Loading, Notice } from "../../components/feedback";
import { Field, formValues } from "../../components/form";
import { AdminNav } from "../../components/layout";
import { useAction, useApi } from "../../hooks";
import { money } from "../../format";
import { TableHead } from "../../components/table";

export function AdminProducts() {
  const [q, setQ] = useState("");
  const [cursor, setCursor] = useState<string | null>(null);
  const [editing, setEditing] = useState<Product | "new" | null>(null);
  const [done, setDone] = useState("");
  const products = useApi(
    (signal) => api<Page<Product>>("/products", { query: { q, limit: 25, cursor }, signal }),
    [q, cursor],
  );
  const finished = (message: string) => {
    setDone(message);
    setEditing(null);
    products.reload();
  };
  return (
    <section>
      <AdminNav />
      <h1>Products</h1>
      {done && <Notice>{done}</Notice>}
      <div class="actions">
        <button type="button" onClick={() => (setDone(""), setEditing("new"))}>
          New product
        </button>
      </div>
      {editing && <ProductForm product={editing === "new" ? null : editing} onDone={finished} onCancel={() => setEditing(null)} />}
      <form
        class="filters"
        role="search"
        aria-label="Search products"
        onSubmit={(e) => (e.preventDefault(), setQ(formValues(e).q), setCursor(null))}
      >
        <Field label="Search" name="q" type="search" />
        <button type="submit">Search</button>
      </form>
      <ErrorBox error={products.error} />
      {products.loading && !products.data ? (
        <Loading what="Loading products" />
      ) : (
        <table class="lines" data-testid="admin-products">
          <TableHead columns={["Product", "SKU", "Price", "Stock", "Actions"]} />
          <tbody>
            {products.data?.items.map((p) => (
              <ProductRow key={p.id} product={p} onEdit={() => (setDone(""), setEditing(p))} onDone={finished} />
            ))}
          </tbody>
        </table>
      )}
      {products.data?.next_cursor && (
        <button type="button" onClick={() => setCursor(products.data!.next_cursor)}>
          More
        </button>
      )}
    </section>
  );
}

function ProductRow({ product, onEdit, onDone }: { product: Product; onEdit: () => void; onDone: (m: string) => void }) {
  const stock = useAction(async (v: Record<string, string>) => {
    await api(`/products/${product.id}/stock`, {
      method: "PATCH",
      body: { adjust: Number(v.adjust), reason: "adjusted in the admin console" },
    });
    onDone(`Stock of ${product.name} adjusted by ${v.adjust}.`);
  });
  const remove = useAction(async () => {
    if (!window.confirm(`Delete ${product.name}?`)) return;
    await api(`/products/${product.id}`, { method: "DELETE" });
    onDone(`${product.name} deleted.`);
  });
  return (
    <tr data-product-id={product.id}>
      <td>{product.name}</td>
      <td>{product.sku}</td>
      <td>{money(product.price)}</td>
      <td>{product.stock_quantity}</td>
      <td>
        <form class="inline" onSubmit={(e) => (e.preventDefault(), stock.run(formValues(e)))}>
          <Field label={`Adjust stock of ${product.name}`} name="adjust" type="number" required step="1" class="small" />
          <button type="submit" disabled={stock.busy}>
            Apply
          </button>
        </form>
        <button type="button" class="link" onClick={onEdit}>
          Edit <span class="sr-only">{product.name}</span>
        </button>
        <button type="button" class="link danger" onClick={() => remove.run()}>
          Delete <span class="sr-only">{product.name}</span>
        </button>
        <ErrorBox error={stock.error ?? remove.error} />
      </td>
    </tr>
  );
}

function ProductForm({
  product,
  onDone,
  onCancel,
}: {
  product: Product | null;
  onDone: (m: string) => void;
  onCancel: () => void;
}) {
  const save = useAction(async (v: Record<string, string>) => {
    const fields = {
      name: v.name,
      description: v.description,
      price: v.price,
      category: v.category,
      image_url: v.image_url || null,
    };
    if (product) {
      await api(`/products/${product.id}`, { method: "PUT", body: fields });
      onDone(`${v.name} saved.`);
    } else {
      await api("/products", {
        method: "POST",
        body: { ...fields, sku: v.sku, stock_quantity: Number(v.stock_quantity || 0) },
      });
      onDone(`${v.name} created.`);
    }
  });
  return (
    <form class="panel" onSubmit={(e) => (e.preventDefault(), save.run(formValues(e)))} aria-label={product ? "Edit product" : "New product"}>
      <h2>{product ? `Edit ${product.name}` : "New product"}</h2>
      <Field label="Name" name="name" required maxLength={200} defaultValue={product?.name} />
      <Field label="Description" name="description" maxLength={4000} defaultValue={product?.description} />
      <Field label="Price" name="price" type="number" required min="0.01" step="0.01" defaultValue={product ? String(product.price) : ""} />
      <Field label="Category" name="category" required pattern="[a-z0-9][a-z0-9\-]{0,49}" hint="lower case, digits, dashes" defaultValue={product?.category} />
      <Field label="Image URL" name="image_url" type="url" defaultValue={product?.image_url ?? ""} />
      {!product && (
        <>
          <Field label="SKU" name="sku" required maxLength={64} />
          <Field label="Initial stock" name="stock_quantity" type="number" min="0" step="1" defaultValue="0" />
        </>
      )}
      <ErrorBox error={save.error} />
      <div class="actions">
        <button type="submit" disabled={save.busy}>
          Save
        </button>
        <button type="button" class="secondary" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
