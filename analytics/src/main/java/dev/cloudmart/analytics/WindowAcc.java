package dev.cloudmart.analytics;

import java.util.HashMap;
import java.util.Map;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;

/**
 * What one window accumulates; an explicit type so no field ever falls back to Kryo.
 *
 * <p>Orders placed ({@code order_created}) and money taken ({@code order_paid}, less the refunds
 * of cancelled paid orders) are counted apart: a declined or abandoned checkout is an order,
 * never revenue. Products count money taken only; regions count both.
 *
 * <p>One entry per product and per region holding all of its figures, updated in place, and
 * the hours as an array: adding an item is one map lookup, not three string-keyed merges that
 * each boxed a value (ADR 0017).
 */
public class WindowAcc {
    /** Orders created, and the value of all of them. */
    public long orders;
    public double grossOrderValue;
    /** Orders paid, and what they paid. */
    public long paidOrders;
    public double paid;
    /** Paid orders cancelled (refunded in full), and what was refunded. */
    public long refundedOrders;
    public double refunds;
    /** Every cancellation: declined payments, out of stock, buyers' and admins' cancels. */
    public long cancellations;
    /** Units and revenue sold: paid, less refunded. */
    public Map<Long, ProductTotals> products = new HashMap<>();
    public Map<String, RegionTotals> regions = new HashMap<>();
    /** Orders created per buyer (counts are small, so their boxes are the JVM's cached ones). */
    public Map<Long, Long> buyerOrders = new HashMap<>();
    /** Orders created per UTC hour of day, 0-23. */
    public long[] hourOrders = new long[24];

    public WindowAcc() {}

    /**
     * A product's units and revenue in the window, paid less refunded (either can be negative
     * where refunds of earlier windows' orders outweigh the payments); its name as the latest
     * event gave it.
     */
    public static class ProductTotals {
        public long quantity;
        public double revenue;
        public String name;

        public ProductTotals() {}

        ProductTotals copy() {
            ProductTotals copy = new ProductTotals();
            copy.quantity = quantity;
            copy.revenue = revenue;
            copy.name = name;
            return copy;
        }

        public static final TypeInformation<ProductTotals> TYPE =
                Types.POJO(ProductTotals.class, Map.of(
                        "quantity", Types.LONG, "revenue", Types.DOUBLE, "name", Types.STRING));
    }

    /** A shipping region's figures in the window: orders created and their value; revenue as the window's. */
    public static class RegionTotals {
        public long orders;
        public double grossOrderValue;
        public double revenue;

        public RegionTotals() {}

        public static final TypeInformation<RegionTotals> TYPE =
                Types.POJO(RegionTotals.class, Map.of(
                        "orders", Types.LONG, "grossOrderValue", Types.DOUBLE, "revenue", Types.DOUBLE));
    }

    public static final TypeInformation<WindowAcc> TYPE =
            Types.POJO(
                    WindowAcc.class,
                    Map.ofEntries(
                            Map.entry("orders", Types.LONG),
                            Map.entry("grossOrderValue", Types.DOUBLE),
                            Map.entry("paidOrders", Types.LONG),
                            Map.entry("paid", Types.DOUBLE),
                            Map.entry("refundedOrders", Types.LONG),
                            Map.entry("refunds", Types.DOUBLE),
                            Map.entry("cancellations", Types.LONG),
                            Map.entry("products", Types.MAP(Types.LONG, ProductTotals.TYPE)),
                            Map.entry("regions", Types.MAP(Types.STRING, RegionTotals.TYPE)),
                            Map.entry("buyerOrders", Types.MAP(Types.LONG, Types.LONG)),
                            Map.entry("hourOrders", Types.PRIMITIVE_ARRAY(Types.LONG))));
}
