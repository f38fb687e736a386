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
import org.apache.flink.streaming.api.windowing.assigners.SlidingEventTimeWindows;
import org.apache.flink.streaming.api.windowing.assigners.TumblingEventTimeWindows;
import org.apache.flink.streaming.api.windowing.windows.TimeWindow;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The pipeline of architecture.md §1: order events -> tumbling event-time windows -> JSON results,
 * and beside them sliding windows of the products sold (trending products). The figures and
 * their definitions: analytics/README.md.
 */
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

    /** {@link #analytics(DataStream, Duration, int, AnomalyRule, Trending.Spec)} with the default trending windows. */
    public static DataStream<String> analytics(
            DataStream<OrderEvent> events, Duration window, int topN, AnomalyRule rule) {
        return analytics(events, window, topN, rule, Trending.Spec.defaults(window));
    }

    /**
     * Window results (with anomalies), `anomaly_detected`, `late_event` and `trending_products`
     * records. Both kinds of window take the same per-source aggregates, of panes that tile them
     * all (the greatest common divisor of the window, the trending size and its slide: the
     * window itself with the default trending windows).
     */
    public static DataStream<String> analytics(
            DataStream<OrderEvent> events, Duration window, int topN, AnomalyRule rule, Trending.Spec trending) {
        Duration pane = Duration.ofMillis(gcd(window.toMillis(), gcd(trending.size.toMillis(), trending.slide.toMillis())));
        SingleOutputStreamOperator<Partial> panes =
                events.filter(e -> e.eventType.startsWith("order_"))
                        .name("order-events")
                        .uid("order-events")
                        .transform("pre-aggregate", Partial.TYPE, new PreAggregate(pane))
                        .uid("pre-aggregate");
        SingleOutputStreamOperator<String> windows =
                panes.windowAll(TumblingEventTimeWindows.of(window))
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
        // No late side output here: an event too late for every trending window it falls in is
        // late for its tumbling window too with the defaults (that one ends first), and reported there.
        DataStream<String> trendingProducts =
                panes.windowAll(SlidingEventTimeWindows.of(trending.size, trending.slide))
                        .aggregate(new Trending.MergeProducts(), new Trending.Emit(trending),
                                WindowAcc.TYPE, WindowAcc.TYPE, Types.STRING)
                        .name("trending-aggregate")
                        .uid("trending-aggregate");
        return withAnomalies.union(late, trendingProducts);
    }

    static long gcd(long a, long b) {
        return b == 0 ? a : gcd(b, a % b);
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
        envelope(node, eventType, 1, identity);
    }

    /**
     * The envelope of a result of {@code version}. A later version's id differs from the first's
     * (the version is part of what it is derived from): consumers that deduplicate on event_id
     * take a result recomputed under a new definition in place of the old one.
     */
    static void envelope(ObjectNode node, String eventType, int version, String identity) {
        String now = Instant.now().toString();
        String derivedFrom = eventType + ":" + (version == 1 ? "" : "v" + version + ":") + identity;
        node.put("event_id", UUID.nameUUIDFromBytes(derivedFrom.getBytes(StandardCharsets.UTF_8)).toString());
        node.put("event_type", eventType);
        node.put("event_version", version);
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

    /**
     * Counts orders ({@code order_created}), payments ({@code order_paid}), cancellations and,
     * among them, refunds (see {@link #refunded}); shipping and delivery only move event time.
     */
    public static class Accumulate implements AggregateFunction<OrderEvent, WindowAcc, WindowAcc> {
        @Override
        public WindowAcc createAccumulator() {
            return new WindowAcc();
        }

        @Override
        public WindowAcc add(OrderEvent e, WindowAcc acc) {
            switch (e.eventType) {
                case "order_created" -> created(e, acc);
                case "order_paid" -> {
                    acc.paidOrders++;
                    acc.paid += e.totalAmount;
                    region(acc, e.region).revenue += e.totalAmount;
                    sold(e, 1, acc.products);
                }
                case "order_cancelled" -> {
                    acc.cancellations++;
                    if (refunded(e)) {
                        acc.refundedOrders++;
                        acc.refunds += e.totalAmount;
                        region(acc, e.region).revenue -= e.totalAmount;
                        sold(e, -1, acc.products);
                    }
                }
                default -> { }
            }
            return acc;
        }

        private static void created(OrderEvent e, WindowAcc acc) {
            acc.orders++;
            acc.grossOrderValue += e.totalAmount;
            WindowAcc.RegionTotals region = region(acc, e.region);
            region.orders++;
            region.grossOrderValue += e.totalAmount;
            acc.buyerOrders.merge(e.userId, 1L, Long::sum);
            acc.hourOrders[utcHour(e.timestamp)]++;
        }

        private static WindowAcc.RegionTotals region(WindowAcc acc, String name) {
            WindowAcc.RegionTotals region = acc.regions.get(name);
            if (region == null) {
                region = new WindowAcc.RegionTotals();
                acc.regions.put(name, region);
            }
            return region;
        }

        @Override
        public WindowAcc getResult(WindowAcc acc) {
            return acc;
        }

        /** {@code b} added into {@code a}; where both name a product, {@code b}'s name is kept. */
        @Override
        public WindowAcc merge(WindowAcc a, WindowAcc b) {
            a.orders += b.orders;
            a.grossOrderValue += b.grossOrderValue;
            a.paidOrders += b.paidOrders;
            a.paid += b.paid;
            a.refundedOrders += b.refundedOrders;
            a.refunds += b.refunds;
            a.cancellations += b.cancellations;
            mergeProducts(a.products, b.products);
            b.regions.forEach((name, r) -> a.regions.merge(name, r, (mine, theirs) -> {
                mine.orders += theirs.orders;
                mine.grossOrderValue += theirs.grossOrderValue;
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

    /**
     * Whether a cancellation gave money back: the order had been paid (only its payment moves an
     * order to `processing`, and publishes `order_paid`), and the orders service refunds a paid
     * order in full when cancelling it. A declined or abandoned checkout was still `pending`.
     */
    static boolean refunded(OrderEvent cancelled) {
        return "processing".equals(cancelled.previousStatus);
    }

    /** The event's items added to {@code products} ({@code sign} 1: sold; -1: refunded). */
    static void sold(OrderEvent e, int sign, Map<Long, WindowAcc.ProductTotals> products) {
        for (int i = 0; i < e.productIds.length; i++) {
            WindowAcc.ProductTotals product = products.get(e.productIds[i]);
            if (product == null) {
                product = new WindowAcc.ProductTotals();
                products.put(e.productIds[i], product);
            }
            product.quantity += (long) sign * e.quantities[i];
            product.revenue += sign * e.quantities[i] * e.prices[i];
            product.name = e.productNames[i];
        }
    }

    /**
     * {@code from} added into {@code into}, which takes none of its objects: one pane's aggregate
     * is added to every sliding window that holds it, and each must count on its own.
     */
    static void mergeProducts(Map<Long, WindowAcc.ProductTotals> into, Map<Long, WindowAcc.ProductTotals> from) {
        from.forEach((id, p) -> into.merge(id, p.copy(), (mine, theirs) -> {
            mine.quantity += theirs.quantity;
            mine.revenue += theirs.revenue;
            mine.name = theirs.name;
            return mine;
        }));
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
            node.put("gross_order_value", money(acc.grossOrderValue));
            node.put("paid_order_count", acc.paidOrders);
            node.put("revenue", money(acc.paid - acc.refunds));
            node.put("refunded_order_count", acc.refundedOrders);
            node.put("refunds", money(acc.refunds));
            // The average paid order: refunds left out, as they are of orders possibly paid in
            // an earlier window (revenue + refunds = avg_order_value x paid_order_count).
            node.put("avg_order_value", acc.paidOrders == 0 ? 0.0 : money(acc.paid / acc.paidOrders));
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
                r.put("gross_order_value", money(region.grossOrderValue));
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
            // Version 2: revenue became money taken (it was the value of the orders created).
            envelope(node, "analytics_window", 2, node.get("window_start").asText());
            out.collect(MAPPER.writeValueAsString(node));
        }

        private ArrayNode top(WindowAcc acc, Comparator<Map.Entry<Long, WindowAcc.ProductTotals>> order) {
            ArrayNode array = MAPPER.createArrayNode();
            for (Map.Entry<Long, WindowAcc.ProductTotals> entry : ranked(acc.products, order, topN)) {
                product(array.addObject(), entry);
            }
            return array;
        }
    }

    /**
     * The first {@code n} products in {@code order}, then by id; only those that sold, net of
     * refunds (units and revenue both above zero).
     */
    static List<Map.Entry<Long, WindowAcc.ProductTotals>> ranked(
            Map<Long, WindowAcc.ProductTotals> totals, Comparator<Map.Entry<Long, WindowAcc.ProductTotals>> order, int n) {
        List<Map.Entry<Long, WindowAcc.ProductTotals>> products = new ArrayList<>(totals.size());
        for (Map.Entry<Long, WindowAcc.ProductTotals> entry : totals.entrySet()) {
            if (entry.getValue().quantity > 0 && money(entry.getValue().revenue) > 0) {
                products.add(entry);
            }
        }
        products.sort(order.thenComparing(Map.Entry::getKey));
        return products.subList(0, Math.min(n, products.size()));
    }

    static void product(ObjectNode node, Map.Entry<Long, WindowAcc.ProductTotals> entry) {
        node.put("product_id", entry.getKey());
        node.put("product_name", entry.getValue().name);
        node.put("quantity", entry.getValue().quantity);
        node.put("revenue", money(entry.getValue().revenue));
    }
}
