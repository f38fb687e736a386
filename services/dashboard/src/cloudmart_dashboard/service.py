"""The summary of the latest windows: totals, merged top products and regions."""

from typing import Any


def summarise(
    windows: list[dict[str, Any]], anomalies: list[dict[str, Any]], late: int
) -> dict[str, Any]:
    orders = sum(int(w.get("order_count", 0)) for w in windows)
    gross = round(sum(float(w.get("gross_order_value", 0)) for w in windows), 2)
    paid_orders = sum(int(w.get("paid_order_count", 0)) for w in windows)
    revenue = round(sum(float(w.get("revenue", 0)) for w in windows), 2)
    refunds = round(sum(float(w.get("refunds", 0)) for w in windows), 2)
    products: dict[int, dict[str, Any]] = {}
    regions: dict[str, dict[str, Any]] = {}
    for window in windows:
        for product in window.get("top_products", []):
            entry = products.setdefault(
                product["product_id"],
                {
                    "product_id": product["product_id"],
                    "product_name": product.get("product_name"),
                    "quantity": 0,
                    "revenue": 0.0,
                },
            )
            entry["quantity"] += product.get("quantity", 0)
            entry["revenue"] = round(entry["revenue"] + product.get("revenue", 0.0), 2)
        for region, figures in window.get("by_region", {}).items():
            entry = regions.setdefault(
                region, {"order_count": 0, "gross_order_value": 0.0, "revenue": 0.0}
            )
            entry["order_count"] += figures.get("order_count", 0)
            entry["gross_order_value"] = round(
                entry["gross_order_value"] + figures.get("gross_order_value", 0.0), 2
            )
            entry["revenue"] = round(entry["revenue"] + figures.get("revenue", 0.0), 2)
    top = sorted(products.values(), key=lambda p: (-p["quantity"], p["product_id"]))[:5]
    return {
        "windows": len(windows),
        "from": windows[-1]["window_start"] if windows else None,
        "to": windows[0]["window_end"] if windows else None,
        "order_count": orders,
        "gross_order_value": gross,
        "paid_order_count": paid_orders,
        "revenue": revenue,
        "refunds": refunds,
        # The average paid order, as each window's: what was paid (revenue before refunds)
        # over the orders paid.
        "avg_order_value": round((revenue + refunds) / paid_orders, 2) if paid_orders else 0.0,
        "cancellations": sum(int(w.get("cancellations", 0)) for w in windows),
        "top_products": top,
        "by_region": regions,
        "recent_anomalies": anomalies,
        "late_events": late,
    }
