// The cart lives in the browser (localStorage) until checkout: prices shown are the catalog's,
// the orders service prices every line again at checkout.
import { computed, signal } from "@preact/signals";
import type { Product } from "../api/types";

const KEY = "cloudmart.cart";

export interface CartLine {
  productId: number;
  name: string;
  price: number;
  quantity: number;
  stock: number;
}

function load(): CartLine[] {
  try {
    const lines = JSON.parse(localStorage.getItem(KEY) ?? "[]");
    return Array.isArray(lines) ? (lines as CartLine[]) : [];
  } catch {
    return [];
  }
}

export const cart = signal<CartLine[]>(load());
export const cartCount = computed(() => cart.value.reduce((n, line) => n + line.quantity, 0));
export const cartTotal = computed(() =>
  cart.value.reduce((sum, line) => sum + line.price * line.quantity, 0),
);

function save(lines: CartLine[]): void {
  cart.value = lines;
  localStorage.setItem(KEY, JSON.stringify(lines));
}

export function addToCart(product: Product, quantity = 1): void {
  const lines = [...cart.value];
  const line = lines.find((l) => l.productId === product.id);
  if (line) {
    line.quantity = Math.min(line.quantity + quantity, Math.max(product.stock_quantity, 1));
    line.price = product.price;
    line.stock = product.stock_quantity;
  } else {
    lines.push({
      productId: product.id,
      name: product.name,
      price: product.price,
      quantity,
      stock: product.stock_quantity,
    });
  }
  save(lines);
}

export function setQuantity(productId: number, quantity: number): void {
  save(
    cart.value
      .map((l) => (l.productId === productId ? { ...l, quantity } : l))
      .filter((l) => l.quantity > 0),
  );
}

export function clearCart(): void {
  save([]);
}

window.addEventListener("storage", (event) => {
  if (event.key === KEY) cart.value = load();
});
