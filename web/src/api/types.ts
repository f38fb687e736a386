// The shapes the public API answers with, named for the UI. Generated, never typed by hand:
// schema.d.ts comes from openapi.json (the gateway's merged document, written by
// `python -m cloudmart_local.api_document web/openapi.json`) at every build.
import type { components } from "./schema";

type Schemas = components["schemas"];

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export type User = Schemas["UsersUserOut"];
export type TokenPair = Schemas["UsersTokenOut"];
export type Product = Schemas["ProductsProductOut"];
export type CategoryCount = Schemas["ProductsCategoryCount"];
export type OrderStatus = Schemas["OrdersOrderOut"]["status"];
export type OrderItem = Schemas["OrdersItemOut"];
export type StatusChange = Schemas["OrdersStatusChangeOut"];
export type Order = Schemas["OrdersOrderOut"];
export type OrderDetail = Schemas["OrdersOrderDetailOut"];
export type Payment = Schemas["PaymentsPaymentOut"];
export type SentNotification = Schemas["NotificationsSentOut"];
export type ProductFigure = Schemas["DashboardProductFigure"];
export type RegionFigure = Schemas["DashboardRegionFigure"];
export type AnalyticsWindow = Schemas["DashboardWindow"];
export type Anomaly = Schemas["DashboardAnomaly"];
export type AnalyticsSummary = Schemas["DashboardSummary"];
export type TrendingProducts = Schemas["DashboardTrendingProducts"];
export type RankedProduct = Schemas["DashboardRankedProduct"];

/** What the gateway tells the UI at run time (GET /config.json): not part of the public API. */
export interface WebConfig {
  stripe_api_base: string;
  stripe_publishable_key: string;
  test_cards: { number: string; outcome: string }[];
}
