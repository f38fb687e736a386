package dev.cloudmart.analytics;

import java.util.HashMap;
import java.util.Map;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;

/**
 * What one window accumulates; an explicit type so no field ever falls back to Kryo.
 *
 * <p>One entry per product and per region holding all of its figures, updated in place, and
 * the hours as an array: adding an item is one map lookup, not three string-keyed merges that
 * each boxed a value (ADR 0017).
 */
public class WindowAcc {
    public long orders;
    public double revenue;
    public long cancellations;
    public Map<Long, ProductTotals> products = new HashMap<>();
    public Map<String, RegionTotals> regions = new HashMap<>();
    /** Orders per buyer (counts are small, so their boxes are the JVM's cached ones). */
    public Map<Long, Long> buyerOrders = new HashMap<>();
    /** Orders per UTC hour of day, 0-23. */
    public long[] hourOrders = new long[24];

    public WindowAcc() {}

    /** A product's figures in the window; its name as the latest event gave it. */
    public static class ProductTotals {
        public long quantity;
        public double revenue;
        public String name;

        public ProductTotals() {}

        public static final TypeInformation<ProductTotals> TYPE =
                Types.POJO(ProductTotals.class, Map.of(
                        "quantity", Types.LONG, "revenue", Types.DOUBLE, "name", Types.STRING));
    }

    /** A shipping region's figures in the window. */
    public static class RegionTotals {
        public long orders;
        public double revenue;

        public RegionTotals() {}

        public static final TypeInformation<RegionTotals> TYPE =
                Types.POJO(RegionTotals.class, Map.of("orders", Types.LONG, "revenue", Types.DOUBLE));
    }

    public static final TypeInformation<WindowAcc> TYPE =
            Types.POJO(
                    WindowAcc.class,
                    Map.of(
                            "orders", Types.LONG,
                            "revenue", Types.DOUBLE,
                            "cancellations", Types.LONG,
                            "products", Types.MAP(Types.LONG, ProductTotals.TYPE),
                            "regions", Types.MAP(Types.STRING, RegionTotals.TYPE),
                            "buyerOrders", Types.MAP(Types.LONG, Types.LONG),
                            "hourOrders", Types.PRIMITIVE_ARRAY(Types.LONG)));
}
