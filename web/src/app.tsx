// Every page and the URL it lives at.
import type { ComponentChildren } from "preact";
import { useEffect } from "preact/hooks";
import { Layout } from "./components/layout";
import { currentPath, match, navigate, location } from "./router";
import { currentUser, isAdmin } from "./state/session";
import { Catalog } from "./pages/shop/catalog";
import { ProductPage } from "./pages/shop/product";
import { CartPage } from "./pages/shop/cart";
import { Checkout } from "./pages/shop/checkout";
import { MyOrders, OrderPage } from "./pages/shop/orders";
import { Account } from "./pages/shop/account";
import { ForgotPassword, Login, Register, ResetPassword } from "./pages/shop/auth";
import { AdminAnalytics } from "./pages/admin/analytics";
import { AdminOrders } from "./pages/admin/orders";
import { AdminProducts } from "./pages/admin/products";
import { AdminNotifications } from "./pages/admin/notifications";

/** Pages for signed-in people send the others to log in, and back here afterwards. */
function SignedIn({ admin = false, children }: { admin?: boolean; children: ComponentChildren }) {
  const user = currentUser.value;
  useEffect(() => {
    if (!user) navigate(`/login?next=${encodeURIComponent(location.value)}`, true);
  }, [user]);
  if (!user) return null;
  if (admin && !isAdmin.value) return <p role="alert">This page is for administrators.</p>;
  return <>{children}</>;
}

function page(): ComponentChildren {
  const path = currentPath();
  let params: Record<string, string> | null;
  if (path === "/") return <Catalog />;
  if ((params = match("/products/:id"))) return <ProductPage id={Number(params.id)} />;
  if (path === "/cart") return <CartPage />;
  if (path === "/checkout") return <SignedIn><Checkout /></SignedIn>;
  if (path === "/orders") return <SignedIn><MyOrders /></SignedIn>;
  if ((params = match("/orders/:id"))) return <SignedIn><OrderPage id={Number(params.id)} /></SignedIn>;
  if (path === "/account") return <SignedIn><Account /></SignedIn>;
  if (path === "/login") return <Login />;
  if (path === "/register") return <Register />;
  if (path === "/forgot-password") return <ForgotPassword />;
  if (path === "/reset-password") return <ResetPassword />;
  if (path === "/admin") return <SignedIn admin><AdminAnalytics /></SignedIn>;
  if (path === "/admin/orders") return <SignedIn admin><AdminOrders /></SignedIn>;
  if (path === "/admin/products") return <SignedIn admin><AdminProducts /></SignedIn>;
  if (path === "/admin/notifications") return <SignedIn admin><AdminNotifications /></SignedIn>;
  return (
    <section>
      <h1>Page not found</h1>
      <p>There is nothing at {path}.</p>
    </section>
  );
}

export function App() {
  location.value; // re-render on navigation
  return <Layout>{page()}</Layout>;
}
