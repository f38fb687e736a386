package dev.cloudmart.analytics;

import java.util.HashMap;
import java.util.Map;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;

/** What one window accumulates; an explicit type so no field ever falls back to Kryo. */
public class WindowAcc {
    public long orders;
    public double revenue;
    public long cancellations;
    public Map<String, Long> productQuantity = new HashMap<>();
    public Map<String, Double> productRevenue = new HashMap<>();
    public Map<String, String> productName = new HashMap<>();
    public Map<String, Long> regionOrders = new HashMap<>();
    public Map<String, Double> regionRevenue = new HashMap<>();
    public Map<String, Long> buyerOrders = new HashMap<>();
    public Map<String, Long> hourOrders = new HashMap<>();

    public WindowAcc() {}

    public static final TypeInformation<WindowAcc> TYPE =
            Types.POJO(
                    WindowAcc.class,
                    Map.of(
                            "orders", Types.LONG,
                            "revenue", Types.DOUBLE,
                            "cancellations", Types.LONG,
                            "productQuantity", Types.MAP(Types.STRING, Types.LONG),
                            "productRevenue", Types.MAP(Types.STRING, Types.DOUBLE),
                            "productName", Types.MAP(Types.STRING, Types.STRING),
                            "regionOrders", Types.MAP(Types.STRING, Types.LONG),
                            "regionRevenue", Types.MAP(Types.STRING, Types.DOUBLE),
                            "buyerOrders", Types.MAP(Types.STRING, Types.LONG),
                            "hourOrders", Types.MAP(Types.STRING, Types.LONG)));
}
