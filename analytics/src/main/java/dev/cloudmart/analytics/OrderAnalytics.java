package dev.cloudmart.analytics;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.math.RoundingMode;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.AggregateFunction;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.functions.windowing.ProcessAllWindowFunction;
import org.apache.flink.streaming.api.windowing.assigners.TumblingEventTimeWindows;
import org.apache.flink.streaming.api.windowing.windows.TimeWindow;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The pipeline of architecture.md §1: order events -> tumbling event-time windows -> JSON results. */
public final class OrderAnalytics {
    static final ObjectMapper MAPPER = new ObjectMapper();
    private static final Logger LOG = LoggerFactory.getLogger(OrderAnalytics.class);
    /** Events older than the watermark allows: counted and reported, never silently dropped. */
    public static final OutputTag<Partial> LATE = new OutputTag<>("late-events", Partial.TYPE);

    private OrderAnalytics() {}

    public static WatermarkStrategy<OrderEvent> watermarks(Duration outOfOrderness, Duration idleness) {
        return WatermarkStrategy.<OrderEvent>forBoundedOutOfOrderness(outOfOrderness)
                .withTimestampAssigner((event, previous) -> event.timestamp)
                .withIdleness(idleness);
    }

    /** Window results (with anomalies) followed by `anomaly_detected` and `late_events` records. */
    public static DataStream<String> analytics(
            DataStream<OrderEvent> events, Duration window, int topN, AnomalyRule rule) {
        SingleOutputStreamOperator<String> windows =
                events.filter(e -> e.eventType.startsWith("order_"))
                        .name("order-events")
                        .uid("order-events")
                        .transform("pre-aggregate", Partial.TYPE, new PreAggregate(window))
                        .uid("pre-aggregate")
                        .windowAll(TumblingEventTimeWindows.of(window))
                        .sideOutputLateData(LATE)
                        .aggregate(new MergePartials(), new Emit(window, topN), WindowAcc.TYPE, WindowAcc.TYPE, Types.STRING)
                        .name("window-aggregate")
                        .uid("window-aggregate");
        DataStream<String> withAnomalies =
                windows.keyBy(json -> "all", Types.STRING)
                        .process(new AnomalyDetector(rule), Types.STRING)
                        .name("anomaly-detection")
                        .uid("anomaly-detection");
        DataStream<String> late =
                windows.getSideOutput(LATE).flatMap(OrderAnalytics::lateRecords, Types.STRING)
                        .name("late-events")
                        .uid("late-events");
        return withAnomalies.union(late);
    }

    /** A late event's record. Only single events can be late (see PreAggregate); a window's
     * aggregate arriving late would be a fault of this job, and is logged rather than lost silently. */
    static void lateRecords(Partial partial, Collector<String> out) throws Exception {
        if (partial.event != null) {
            out.collect(lateRecord(partial.event));
        } else {
            LOG.error("a window's aggregate arrived after the window closed ({} orders from {})",
                    partial.acc.orders, Instant.ofEpochMilli(partial.windowStart));
        }
    }

    static String lateRecord(OrderEvent event) throws Exception {
        ObjectNode node = MAPPER.createObjectNode();
        node.put("result_type", "late_event");
        node.put("order_event_type", event.eventType);
        node.put("order_id", event.orderId);
        node.put("event_timestamp", Instant.ofEpochMilli(event.timestamp).toString());
        envelope(node, "late_event", event.eventType + ":" + event.orderId + ":" + event.timestamp);
        return MAPPER.writeValueAsString(node);
    }

    /** The platform's event envelope (architecture.md §5); ids are derived, so a replay repeats them. */
    static void envelope(ObjectNode node, String eventType, String identity) {
        String now = Instant.now().toString();
        node.put("event_id", UUID.nameUUIDFromBytes((eventType + ":" + identity).getBytes(StandardCharsets.UTF_8)).toString());
        node.put("event_type", eventType);
        node.put("event_version", 1);
        node.put("timestamp", now);
        node.put("emitted_at", now);
    }

    static double money(double value) {
        return BigDecimal.valueOf(value).setScale(2, RoundingMode.HALF_UP).doubleValue();
    }

    /** The UTC hour of day of an epoch-millisecond instant; arithmetic, no ZonedDateTime per event. */
    static int utcHour(long epochMillis) {
        return (int) Math.floorMod(Math.floorDiv(epochMillis, 3_600_000L), 24L);
    }

    /** Counts orders (`order_created`) and cancellations; other order events only move time. */
    public static class Accumulate implements AggregateFunction<OrderEvent, WindowAcc, WindowAcc> {
        @Override
        public WindowAcc createAccumulator() {
            return new WindowAcc();
        }

        @Override
        public WindowAcc add(OrderEvent e, WindowAcc acc) {
            if ("order_cancelled".equals(e.eventType)) {
                acc.cancellations++;
                return acc;
            }
            if (!"order_created".equals(e.eventType)) {
                return acc;
            }
            acc.orders++;
            acc.revenue += e.totalAmount;
            WindowAcc.RegionTotals region = acc.regions.get(e.region);
            if (region == null) {
                region = new WindowAcc.RegionTotals();
                acc.regions.put(e.region, region);
            }
            region.orders++;
            region.revenue += e.totalAmount;
            acc.buyerOrders.merge(e.userId, 1L, Long::sum);
            acc.hourOrders[utcHour(e.timestamp)]++;
            for (int i = 0; i < e.productIds.length; i++) {
                WindowAcc.ProductTotals product = acc.products.get(e.productIds[i]);
                if (product == null) {
                    product = new WindowAcc.ProductTotals();
                    acc.products.put(e.productIds[i], product);
                }
                product.quantity += e.quantities[i];
                product.revenue += e.quantities[i] * e.prices[i];
                product.name = e.productNames[i];
            }
            return acc;
        }

        @Override
        public WindowAcc getResult(WindowAcc acc) {
            return acc;
        }

        /** {@code b} added into {@code a}; where both name a product, {@code b}'s name is kept. */
        @Override
        public WindowAcc merge(WindowAcc a, WindowAcc b) {
            a.orders += b.orders;
            a.revenue += b.revenue;
            a.cancellations += b.cancellations;
            b.products.forEach((id, p) -> a.products.merge(id, p, (mine, theirs) -> {
                mine.quantity += theirs.quantity;
                mine.revenue += theirs.revenue;
                mine.name = theirs.name;
                return mine;
            }));
            b.regions.forEach((name, r) -> a.regions.merge(name, r, (mine, theirs) -> {
                mine.orders += theirs.orders;
                mine.revenue += theirs.revenue;
                return mine;
            }));
            b.buyerOrders.forEach((k, v) -> a.buyerOrders.merge(k, v, Long::sum));
            for (int hour = 0; hour < 24; hour++) {
                a.hourOrders[hour] += b.hourOrders[hour];
            }
            return a;
        }
    }

    /** Merges the source subtasks' aggregates of a window, and the single events sent after them. */
    public static class MergePartials implements AggregateFunction<Partial, WindowAcc, WindowAcc> {
        private static final Accumulate ADD = new Accumulate();

        @Override
        public WindowAcc createAccumulator() {
            return new WindowAcc();
        }

        @Override
        public WindowAcc add(Partial partial, WindowAcc acc) {
            return partial.event != null ? ADD.add(partial.event, acc) : ADD.merge(acc, partial.acc);
        }

        @Override
        public WindowAcc getResult(WindowAcc acc) {
            return acc;
        }

        @Override
        public WindowAcc merge(WindowAcc a, WindowAcc b) {
            return ADD.merge(a, b);
        }
    }

    /** One JSON result per window, the shape of architecture.md §8 plus the extra figures. */
    public static class Emit extends ProcessAllWindowFunction<WindowAcc, String, TimeWindow> {
        private final long windowMillis;
        private final int topN;

        public Emit(Duration window, int topN) {
            this.windowMillis = window.toMillis();
            this.topN = topN;
        }

        @Override
        public void process(Context context, Iterable<WindowAcc> accs, Collector<String> out) throws Exception {
            WindowAcc acc = accs.iterator().next();
            ObjectNode node = MAPPER.createObjectNode();
            node.put("result_type", "window");
            node.put("window_start", Instant.ofEpochMilli(context.window().getStart()).toString());
            node.put("window_end", Instant.ofEpochMilli(context.window().getEnd()).toString());
            node.put("order_count", acc.orders);
            node.put("revenue", money(acc.revenue));
            node.put("avg_order_value", acc.orders == 0 ? 0.0 : money(acc.revenue / acc.orders));
            node.put("orders_per_minute", money(acc.orders * 60_000.0 / windowMillis));
            node.put("cancellations", acc.cancellations);
            node.put("active_buyers", acc.buyerOrders.size());
            node.put("repeat_buyers", acc.buyerOrders.values().stream().filter(n -> n > 1).count());
            node.set("top_products", top(acc, Comparator.comparingLong((Map.Entry<Long, WindowAcc.ProductTotals> p) -> p.getValue().quantity).reversed()));
            node.set("top_products_by_revenue", top(acc, Comparator.comparingDouble((Map.Entry<Long, WindowAcc.ProductTotals> p) -> p.getValue().revenue).reversed()));
            ObjectNode regions = node.putObject("by_region");
            new TreeMap<>(acc.regions).forEach((name, region) -> {
                ObjectNode r = regions.putObject(name);
                r.put("order_count", region.orders);
                r.put("revenue", money(region.revenue));
            });
            ObjectNode hours = node.putObject("orders_by_hour");
            int peak = -1;
            for (int hour = 0; hour < 24; hour++) {
                long count = acc.hourOrders[hour];
                if (count > 0) {
                    hours.put(Integer.toString(hour), count);
                    if (peak < 0 || count > acc.hourOrders[peak]) {
                        peak = hour; // the earliest of equally busy hours
                    }
                }
            }
            if (peak >= 0) {
                node.put("peak_hour", peak);
            }
            node.putArray("anomalies");
            envelope(node, "analytics_window", node.get("window_start").asText());
            out.collect(MAPPER.writeValueAsString(node));
        }

        private ArrayNode top(WindowAcc acc, Comparator<Map.Entry<Long, WindowAcc.ProductTotals>> order) {
            List<Map.Entry<Long, WindowAcc.ProductTotals>> products = new ArrayList<>(acc.products.entrySet());
            products.sort(order.thenComparing(Map.Entry::getKey));
            ArrayNode array = MAPPER.createArrayNode();
            for (Map.Entry<Long, WindowAcc.ProductTotals> entry : products.subList(0, Math.min(topN, products.size()))) {
                ObjectNode product = array.addObject();
                product.put("product_id", entry.getKey());
                product.put("product_name", entry.getValue().name);
                product.put("quantity", entry.getValue().quantity);
                product.put("revenue", money(entry.getValue().revenue));
            }
            return array;
        }
    }
}
