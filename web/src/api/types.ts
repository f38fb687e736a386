// The shapes the public API answers with (see /api/openapi.json through the gateway).

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export interface User {
  id: number;
  username: string;
  email: string;
  full_name: string | null;
  phone: string | null;
  address: string | null;
  role: "customer" | "admin" | string;
}

export interface TokenPair {
  access_token: string;
  refresh_token: string;
  expires_in: number;
  user: User;
}

export interface Product {
  id: number;
  name: string;
  description: string;
  price: number;
  category: string;
  stock_quantity: number;
  image_url: string | null;
  sku: string;
}

export interface CategoryCount {
  category: string;
  product_count: number;
}

export type OrderStatus = "pending" | "processing" | "shipped" | "delivered" | "cancelled";

export interface OrderItem {
  product_id: number;
  product_name: string;
  quantity: number;
  price: number;
}

export interface StatusChange {
  from_status: OrderStatus | null;
  to_status: OrderStatus;
  changed_by: string;
  reason: string | null;
  changed_at: string;
}

export interface Order {
  id: number;
  user_id: number;
  status: OrderStatus;
  total_amount: number;
  currency: string;
  shipping_address: string;
  shipping_region: string | null;
  items: OrderItem[];
  payment_id: number | null;
  cancel_reason: string | null;
  created_at: string;
  updated_at: string;
  history?: StatusChange[];
}

export interface Payment {
  id: number;
  order_id: number;
  amount: number;
  currency: string;
  status: string;
  refunded_amount: number;
  failure_code: string | null;
  failure_reason: string | null;
}

export interface SentNotification {
  id: string;
  event_id: string;
  event_type: string;
  channel: string;
  recipient: string;
  subject: string;
  status: string;
  sent_at: string;
  error?: string;
}

export interface ProductFigure {
  product_id: number;
  product_name: string | null;
  quantity: number;
  revenue: number;
}

export interface RegionFigure {
  order_count: number;
  revenue: number;
}

export interface AnalyticsWindow {
  window_start: string;
  window_end: string;
  order_count: number;
  revenue: number;
  avg_order_value: number;
  orders_per_minute?: number;
  cancellations?: number;
  active_buyers?: number;
  repeat_buyers?: number;
  top_products: ProductFigure[];
  by_region: Record<string, RegionFigure>;
}

export interface Anomaly {
  window_start: string;
  window_end: string;
  metric: "order_count" | "revenue";
  value: number;
  baseline_mean: number;
  threshold: number;
  direction: "spike" | "drop";
}

export interface AnalyticsSummary {
  windows: number;
  order_count: number;
  revenue: number;
  avg_order_value: number;
  cancellations: number;
  top_products: ProductFigure[];
  by_region: Record<string, RegionFigure>;
  recent_anomalies: Anomaly[];
  late_events: number;
}

/** What the gateway tells the UI at run time (GET /config.json). */
export interface WebConfig {
  stripe_api_base: string;
  stripe_publishable_key: string;
  test_cards: { number: string; outcome: string }[];
}
