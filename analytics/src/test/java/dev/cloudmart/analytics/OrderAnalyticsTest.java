package dev.cloudmart.analytics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.eventtime.Watermark;
import org.apache.flink.api.common.eventtime.WatermarkGenerator;
import org.apache.flink.api.common.eventtime.WatermarkOutput;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.PipelineOptions;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.flink.util.CloseableIterator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class OrderAnalyticsTest {
    private static final ObjectMapper M = new ObjectMapper();
    private static final Instant T0 = Instant.parse("2026-01-01T10:00:00Z");

    @RegisterExtension
    static final MiniClusterExtension MINI_CLUSTER = new MiniClusterExtension(
            new MiniClusterResourceConfiguration.Builder()
                    .setNumberTaskManagers(1)
                    .setNumberSlotsPerTaskManager(2)
                    .setConfiguration(noKryo())
                    .build());

    private static Configuration noKryo() {
        Configuration conf = new Configuration();
        conf.set(PipelineOptions.GENERIC_TYPES, false);
        return conf;
    }

    /** An order event as the orders service publishes it; items are (id, name, qty, price). */
    static String order(String type, long orderId, long userId, double seconds, String region, Object... items)
            throws Exception {
        var node = M.createObjectNode();
        node.put("event_id", "e-" + orderId + "-" + type);
        node.put("event_type", type);
        node.put("event_version", 1);
        node.put("order_id", orderId);
        node.put("user_id", userId);
        node.put("shipping_region", region);
        node.put("currency", "USD");
        node.put("timestamp", T0.plusMillis((long) (seconds * 1000)).toString());
        var array = node.putArray("items");
        double total = 0;
        for (int i = 0; i < items.length; i += 4) {
            var item = array.addObject();
            item.put("product_id", (Integer) items[i]);
            item.put("product_name", (String) items[i + 1]);
            item.put("quantity", (Integer) items[i + 2]);
            item.put("price", (Double) items[i + 3]);
            total += (Integer) items[i + 2] * (Double) items[i + 3];
        }
        node.put("total_amount", total);
        return M.writeValueAsString(node);
    }

    /** An `order_cancelled` event: {@code previousStatus} "pending" (never paid) or "processing" (refunded). */
    static String cancelled(long orderId, long userId, double seconds, String region, String previousStatus,
                            Object... items) throws Exception {
        ObjectNode node = (ObjectNode) M.readTree(order("order_cancelled", orderId, userId, seconds, region, items));
        node.put("status", "cancelled");
        node.put("cancel_reason", "processing".equals(previousStatus) ? "changed my mind" : "payment declined");
        node.put("previous_status", previousStatus);
        node.put("refunded", "processing".equals(previousStatus));
        return M.writeValueAsString(node);
    }

    /** Bounded out-of-orderness, but a watermark after every event: lateness is deterministic. */
    private static WatermarkStrategy<OrderEvent> everyEvent(Duration outOfOrderness) {
        long bound = outOfOrderness.toMillis();
        return WatermarkStrategy.<OrderEvent>forGenerator(context -> new WatermarkGenerator<OrderEvent>() {
                    private long max = Long.MIN_VALUE + bound + 1;

                    @Override
                    public void onEvent(OrderEvent event, long timestamp, WatermarkOutput output) {
                        max = Math.max(max, timestamp);
                        output.emitWatermark(new Watermark(max - bound - 1));
                    }

                    @Override
                    public void onPeriodicEmit(WatermarkOutput output) {}
                })
                .withTimestampAssigner((event, previous) -> event.timestamp);
    }

    private static List<JsonNode> run(List<String> input, Duration window, AnomalyRule rule) throws Exception {
        return run(input, window, rule, Trending.Spec.defaults(window));
    }

    private static List<JsonNode> run(List<String> input, Duration window, AnomalyRule rule, Trending.Spec trending)
            throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        // One subtask per operator: records and watermarks reach the window in the order sent,
        // so which event is late does not depend on thread timing.
        env.setParallelism(1);
        OrderDeserializationSchema schema = new OrderDeserializationSchema();
        DataStream<OrderEvent> events = env.fromData(input)
                .<OrderEvent>flatMap((s, out) -> schema.deserialize(s.getBytes(StandardCharsets.UTF_8), out))
                .returns(OrderEvent.class)
                .assignTimestampsAndWatermarks(everyEvent(Duration.ofSeconds(2)));
        List<JsonNode> results = new ArrayList<>();
        try (CloseableIterator<String> it = OrderAnalytics.analytics(events, window, 3, rule, trending).executeAndCollect()) {
            while (it.hasNext()) {
                results.add(M.readTree(it.next()));
            }
        }
        return results;
    }

    private static List<JsonNode> ofType(List<JsonNode> results, String type) {
        List<JsonNode> found = new ArrayList<>();
        for (JsonNode node : results) {
            if (type.equals(node.path("result_type").asText())) {
                found.add(node);
            }
        }
        found.sort(Comparator.comparing(n -> n.path("window_start").asText()));
        return found;
    }

    @Test
    void windowsCountRevenueTopProductsRegionsBuyersOutOfOrderAndLateEvents() throws Exception {
        List<String> input = List.of(
                order("order_created", 1, 7, 1, "eu", 1, "Lamp", 3, 10.0, 2, "Desk", 1, 100.0),
                order("order_paid", 1, 7, 2, "eu", 1, "Lamp", 3, 10.0, 2, "Desk", 1, 100.0),
                order("order_created", 2, 8, 4, "us", 2, "Desk", 2, 100.0, 3, "Cable", 5, 2.5),
                order("order_created", 3, 7, 3, "eu", 4, "Mug", 1, 5.0),           // out of order
                order("order_paid", 3, 7, 5, "eu", 4, "Mug", 1, 5.0),
                cancelled(2, 8, 6, "us", "pending", 2, "Desk", 2, 100.0, 3, "Cable", 5, 2.5), // declined
                order("order_created", 4, 9, 12, "ap", 1, "Lamp", 1, 10.0),
                order("order_paid", 4, 9, 12.5, "ap", 1, "Lamp", 1, 10.0),
                order("order_created", 5, 9, 13, "ap", 1, "Lamp", 1, 10.0),
                order("order_paid", 5, 9, 13.5, "ap", 1, "Lamp", 1, 10.0),
                // watermark is now 11.5 s: a 9.5 s event belongs to the closed [0, 10) window
                order("order_created", 6, 1, 9.5, "eu", 1, "Lamp", 1, 10.0),
                "{not json");

        List<JsonNode> results = run(input, Duration.ofSeconds(10), AnomalyRule.defaults());

        List<JsonNode> windows = ofType(results, "window");
        assertEquals(2, windows.size(), results.toString());
        JsonNode first = windows.get(0);
        assertEquals("2026-01-01T10:00:00Z", first.get("window_start").asText());
        assertEquals(2, first.get("event_version").asInt());
        assertEquals(3, first.get("order_count").asLong());
        assertEquals(347.5, first.get("gross_order_value").asDouble(), 1e-9); // 130 + 212.5 + 5
        assertEquals(2, first.get("paid_order_count").asLong());
        assertEquals(135.0, first.get("revenue").asDouble(), 1e-9);           // the declined 212.5 is not
        assertEquals(67.5, first.get("avg_order_value").asDouble(), 1e-9);
        assertEquals(1, first.get("cancellations").asLong());
        assertEquals(0, first.get("refunded_order_count").asLong());
        assertEquals(2, first.get("active_buyers").asLong());
        assertEquals(1, first.get("repeat_buyers").asLong());           // buyer 7 ordered twice
        assertEquals(18.0, first.get("orders_per_minute").asDouble(), 1e-9);
        // Sold (paid): Lamp 3, Desk 1, Mug 1 (tie broken by id: Desk is 2, Mug 4); Cable never paid.
        assertEquals("[1,2,4]", ids(first.get("top_products")));
        assertEquals(100.0, first.get("top_products").get(1).get("revenue").asDouble(), 1e-9);
        assertEquals("[2,1,4]", ids(first.get("top_products_by_revenue")));
        assertEquals(2, first.at("/by_region/eu/order_count").asLong());
        assertEquals(135.0, first.at("/by_region/eu/gross_order_value").asDouble(), 1e-9);
        assertEquals(135.0, first.at("/by_region/eu/revenue").asDouble(), 1e-9);
        assertEquals(1, first.at("/by_region/us/order_count").asLong());
        assertEquals(212.5, first.at("/by_region/us/gross_order_value").asDouble(), 1e-9);
        assertEquals(0.0, first.at("/by_region/us/revenue").asDouble(), 1e-9);
        assertEquals(10, first.get("peak_hour").asInt());

        JsonNode second = windows.get(1);
        assertEquals(2, second.get("order_count").asLong());
        assertEquals(20.0, second.get("revenue").asDouble(), 1e-9);
        assertEquals(20.0, second.get("gross_order_value").asDouble(), 1e-9);
        assertEquals(1, second.get("repeat_buyers").asLong());

        List<JsonNode> late = ofType(results, "late_event");
        assertEquals(1, late.size(), results.toString());
        assertEquals(6, late.get(0).get("order_id").asLong());
    }

    @Test
    void revenueIsMoneyTakenNetOfRefundsAndGrossOrderValueEveryOrderCreated() throws Exception {
        // 10 orders created; 1-8 paid, 9 and 10 declined (cancelled unpaid), 8 cancelled after
        // payment (refunded); order i is one unit of product i % 3 + 1 at 10 x i.
        String[] names = {"Lamp", "Desk", "Mug"};
        List<String> input = new ArrayList<>();
        for (int i = 1; i <= 10; i++) {
            int product = i % 3 + 1;
            Object[] item = {product, names[product - 1], 1, 10.0 * i};
            input.add(order("order_created", i, 100 + i, 0.5 * i, "eu", item));
            if (i <= 8) {
                input.add(order("order_paid", i, 100 + i, 0.5 * i + 0.2, "eu", item));
            }
        }
        input.add(cancelled(9, 109, 5.5, "eu", "pending", 1, "Lamp", 1, 90.0));
        input.add(cancelled(10, 110, 5.6, "eu", "pending", 2, "Desk", 1, 100.0));
        input.add(cancelled(8, 108, 6.0, "eu", "processing", 3, "Mug", 1, 80.0));
        // The next window: a refund of an order paid in the first one, and nothing else.
        input.add(cancelled(5, 105, 12.0, "eu", "processing", 3, "Mug", 1, 50.0));

        List<JsonNode> windows = ofType(run(input, Duration.ofSeconds(10), AnomalyRule.defaults()), "window");

        assertEquals(2, windows.size(), windows.toString());
        JsonNode first = windows.get(0);
        assertEquals(10, first.get("order_count").asLong());
        assertEquals(550.0, first.get("gross_order_value").asDouble(), 1e-9);   // 10 + 20 + ... + 100
        assertEquals(8, first.get("paid_order_count").asLong());
        assertEquals(1, first.get("refunded_order_count").asLong());
        assertEquals(80.0, first.get("refunds").asDouble(), 1e-9);
        assertEquals(280.0, first.get("revenue").asDouble(), 1e-9);              // 360 paid - 80 refunded
        assertEquals(45.0, first.get("avg_order_value").asDouble(), 1e-9);       // 360 / 8
        assertEquals(3, first.get("cancellations").asLong());
        assertEquals(10, first.at("/by_region/eu/order_count").asLong());
        assertEquals(550.0, first.at("/by_region/eu/gross_order_value").asDouble(), 1e-9);
        assertEquals(280.0, first.at("/by_region/eu/revenue").asDouble(), 1e-9);
        // Sold: Desk (orders 1, 4, 7) 3 units 120; Lamp (3, 6) 2 units 90; Mug (2, 5; 8 refunded) 2 units 70.
        assertEquals("[2,1,3]", ids(first.get("top_products")));
        assertEquals(70.0, first.at("/top_products/2/revenue").asDouble(), 1e-9);
        assertEquals(2, first.at("/top_products/2/quantity").asLong());
        assertEquals("[2,1,3]", ids(first.get("top_products_by_revenue")));

        JsonNode second = windows.get(1);
        assertEquals(0, second.get("order_count").asLong());
        assertEquals(0.0, second.get("gross_order_value").asDouble(), 1e-9);
        assertEquals(-50.0, second.get("revenue").asDouble(), 1e-9);             // money given back
        assertEquals(50.0, second.get("refunds").asDouble(), 1e-9);
        assertEquals(0.0, second.get("avg_order_value").asDouble(), 1e-9);
        assertEquals(0, second.get("top_products").size());                      // nothing sold, net
    }

    @Test
    void trendingProductsSlideOverOverlappingWindowsRankedByUnitsThenRevenue() throws Exception {
        List<String> input = List.of(
                order("order_created", 1, 1, 4, "eu", 1, "Lamp", 2, 10.0),
                order("order_paid", 1, 1, 5, "eu", 1, "Lamp", 2, 10.0),
                order("order_created", 2, 2, 14, "eu", 2, "Desk", 2, 50.0),
                order("order_paid", 2, 2, 15, "eu", 2, "Desk", 2, 50.0),
                order("order_created", 6, 6, 21, "eu", 2, "Desk", 1, 50.0),
                order("order_paid", 6, 6, 22, "eu", 2, "Desk", 1, 50.0),
                order("order_created", 3, 3, 24, "eu", 1, "Lamp", 2, 10.0),
                order("order_paid", 3, 3, 25, "eu", 1, "Lamp", 2, 10.0),
                order("order_created", 5, 5, 26, "eu", 1, "Lamp", 9, 10.0),       // declined: never sold
                cancelled(5, 5, 27, "eu", "pending", 1, "Lamp", 9, 10.0),
                order("order_created", 4, 4, 33, "eu", 3, "Cable", 5, 2.0),
                order("order_paid", 4, 4, 35, "eu", 3, "Cable", 5, 2.0),
                cancelled(3, 3, 38, "eu", "processing", 1, "Lamp", 2, 10.0));     // order 3 refunded

        List<JsonNode> results = run(input, Duration.ofSeconds(10), AnomalyRule.defaults(),
                new Trending.Spec(Duration.ofSeconds(30), Duration.ofSeconds(10), 3));

        List<JsonNode> trending = ofType(results, "trending_products");
        List<String> starts = new ArrayList<>();
        List<String> ranked = new ArrayList<>();
        for (JsonNode window : trending) {
            starts.add(window.get("window_start").asText().substring(11, 19));
            ranked.add(ids(window.get("products")));
        }
        // Each window is 30 s and one starts every 10 s: six hold the events from 4 s to 38 s.
        assertEquals(List.of("09:59:40", "09:59:50", "10:00:00", "10:00:10", "10:00:20", "10:00:30"), starts);
        assertEquals(List.of("[1]", "[2,1]", "[1,2]", "[3,2]", "[3,2]", "[3]"), ranked, trending.toString());
        // The Lamp of order 1 counts in each of the three overlapping windows that hold it.
        assertEquals(2, trending.get(0).at("/products/0/quantity").asLong());
        assertEquals(2, trending.get(1).at("/products/1/quantity").asLong());   // Desk first: same units, more revenue
        assertEquals(4, trending.get(2).at("/products/0/quantity").asLong());
        assertEquals(40.0, trending.get(2).at("/products/0/revenue").asDouble(), 1e-9);
        // Desks sold in two panes in a row: each window counts each pane once.
        assertEquals(List.of(2L, 3L, 3L, 1L), List.of(trending.get(1).at("/products/0/quantity").asLong(),
                trending.get(2).at("/products/1/quantity").asLong(), trending.get(3).at("/products/1/quantity").asLong(),
                trending.get(4).at("/products/1/quantity").asLong()));
        assertEquals(150.0, trending.get(2).at("/products/1/revenue").asDouble(), 1e-9);
        // From 10 s on, order 3's refund takes back its two Lamps: none left, the Lamp drops out.
        JsonNode refunded = trending.get(3);
        assertEquals("2026-01-01T10:00:40Z", refunded.get("window_end").asText());
        assertEquals(1, refunded.at("/products/0/rank").asInt());
        assertEquals("Cable", refunded.at("/products/0/product_name").asText());
        assertEquals(2, refunded.at("/products/1/rank").asInt());
        assertEquals(30, refunded.get("window_seconds").asLong());
        assertEquals(10, refunded.get("slide_seconds").asLong());
        assertEquals("trending_products", refunded.get("event_type").asText());
        assertEquals(1, refunded.get("event_version").asInt());
    }

    @Test
    void trendingWindowsDefaultToThreeWindowsSlidingByOne() {
        Trending.Spec defaults = OrderAnalyticsJob.trending(Map.of(), Duration.ofSeconds(300));
        assertEquals(Duration.ofMinutes(15), defaults.size);
        assertEquals(Duration.ofMinutes(5), defaults.slide);
        assertEquals(10, defaults.topN);
        Trending.Spec local = OrderAnalyticsJob.trending(Map.of(), Duration.ofSeconds(10));
        assertEquals(Duration.ofSeconds(30), local.size);
        assertEquals(Duration.ofSeconds(10), local.slide);
        Trending.Spec given = OrderAnalyticsJob.trending(
                Map.of("trending-seconds", "3600", "trending-slide-seconds", "600", "trending-top-n", "3"),
                Duration.ofSeconds(300));
        assertEquals(Duration.ofHours(1), given.size);
        assertEquals(Duration.ofMinutes(10), given.slide);
        assertEquals(3, given.topN);
        assertEquals(100, OrderAnalytics.gcd(300, OrderAnalytics.gcd(900, 200)));
    }

    @Test
    void theAnomalyRuleFiresOnASpikeAndNotOnNoise() throws Exception {
        List<String> input = new ArrayList<>();
        long id = 1;
        int[] perWindow = {4, 5, 4, 6, 5, 4, 30}; // noise around 4-6, then a spike
        for (int w = 0; w < perWindow.length; w++) {
            for (int i = 0; i < perWindow[w]; i++) {
                input.add(order("order_created", id, id, w * 10 + 1 + i * 0.1, "eu", 1, "Lamp", 1, 10.0));
                input.add(order("order_paid", id, id, w * 10 + 1.05 + i * 0.1, "eu", 1, "Lamp", 1, 10.0));
                id++;
            }
        }

        List<JsonNode> results = run(input, Duration.ofSeconds(10), AnomalyRule.defaults());

        List<JsonNode> windows = ofType(results, "window");
        assertEquals(perWindow.length, windows.size());
        for (int w = 0; w < perWindow.length - 1; w++) {
            assertEquals(0, windows.get(w).get("anomalies").size(), windows.get(w).toString());
        }
        JsonNode spike = windows.get(perWindow.length - 1);
        assertEquals(2, spike.get("anomalies").size(), spike.toString()); // orders and revenue
        assertEquals("spike", spike.at("/anomalies/0/direction").asText());
        List<JsonNode> detected = ofType(results, "anomaly_detected");
        assertEquals(2, detected.size());
        assertTrue(detected.stream().allMatch(d -> d.get("window_start").asText().equals(spike.get("window_start").asText())));
    }

    @Test
    void timestampsWithOffsetsAreTheSameInstant() {
        assertEquals(
                OrderDeserializationSchema.parseTimestamp("2026-01-01T00:00:00Z"),
                OrderDeserializationSchema.parseTimestamp("2026-01-01T01:00:00+01:00"));
    }

    @Test
    void theParserReadsTheFieldsItUsesAndSkipsTheRest() throws Exception {
        String json = "{\"event_id\":\"x\",\"meta\":{\"a\":[1,{\"b\":2}]},\"event_type\":\"order_created\","
                + "\"order_id\":\"42\",\"user_id\":7,\"total_amount\":12.5,\"shipping_region\":null,"
                + "\"items\":[{\"product_id\":3,\"product_name\":\"Mug\",\"quantity\":2,\"price\":5.0,\"tags\":[\"x\"]},"
                + "{\"product_id\":4,\"quantity\":1,\"price\":2.5},5,{\"product_id\":6,\"product_name\":\"A\"},"
                + "{\"product_id\":7},{\"product_id\":8}],\"timestamp\":\"2026-01-01T10:00:00.250Z\"}";
        OrderEvent event = OrderDeserializationSchema.parse(json.getBytes(StandardCharsets.UTF_8));
        assertEquals("order_created", event.eventType);
        assertEquals(42, event.orderId);
        assertEquals(7, event.userId);
        assertEquals(12.5, event.totalAmount, 1e-9);
        assertEquals("unknown", event.region);
        assertEquals(T0.toEpochMilli() + 250, event.timestamp);
        assertEquals("[3, 4, 0, 6, 7, 8]", java.util.Arrays.toString(event.productIds));
        assertEquals("[Mug, , , A, , ]", java.util.Arrays.toString(event.productNames));
        assertEquals("[2, 1, 0, 0, 0, 0]", java.util.Arrays.toString(event.quantities));
        assertEquals("[5.0, 2.5, 0.0, 0.0, 0.0, 0.0]", java.util.Arrays.toString(event.prices));
        for (String skipped : List.of("[1]", "\"text\"", "{\"event_type\":\"order_created\"}",
                "{\"event_type\":null,\"timestamp\":\"2026-01-01T10:00:00Z\"}", "")) {
            assertEquals(null, OrderDeserializationSchema.parse(skipped.getBytes(StandardCharsets.UTF_8)), skipped);
        }
    }

    @Test
    void aReusedReaderKeepsNothingOfThePreviousEvent() throws Exception {
        OrderDeserializationSchema.Reader reader = new OrderDeserializationSchema.Reader();
        OrderEvent first = reader.parse(("{\"event_type\":\"order_created\",\"shipping_region\":\"eu-west\","
                + "\"items\":[{\"product_id\":1,\"product_name\":\"Mug\",\"quantity\":2,\"price\":5.0},"
                + "{\"product_id\":2,\"product_name\":\"Cup\",\"quantity\":1,\"price\":2.5}],"
                + "\"timestamp\":\"2026-01-01T10:00:00Z\"}").getBytes(StandardCharsets.UTF_8));
        OrderEvent second = reader.parse(("{\"event_type\":\"order_created\",\"shipping_region\":\"eu-west\","
                + "\"items\":[{\"product_id\":3}],\"timestamp\":\"2026-01-01T10:00:01Z\"}")
                .getBytes(StandardCharsets.UTF_8));
        OrderEvent third = reader.parse(("{\"event_type\":\"order_cancelled\",\"shipping_region\":\"eu-wesT\","
                + "\"previous_status\":\"processing\",\"timestamp\":\"2026-01-01T10:00:02Z\"}")
                .getBytes(StandardCharsets.UTF_8));
        // The first event's arrays are its own: the reader's scratch space was reused after it.
        assertEquals("[1, 2]", java.util.Arrays.toString(first.productIds));
        assertEquals("[Mug, Cup]", java.util.Arrays.toString(first.productNames));
        assertEquals("[3]", java.util.Arrays.toString(second.productIds));
        assertEquals(1, second.productNames.length);
        assertEquals("", second.productNames[0]);
        assertEquals(0, second.quantities[0]);
        assertEquals(0.0, second.prices[0]);
        assertEquals(0, third.productIds.length);
        // A repeated value is the same string again; a different one is never mistaken for it.
        assertTrue(first.region == second.region);
        assertEquals("eu-wesT", third.region);
        assertEquals("order_cancelled", third.eventType);
        assertEquals("processing", third.previousStatus);
        assertEquals(null, first.previousStatus);
    }

    @Test
    void recentTextsAreReturnedByContentAndBounded() {
        OrderDeserializationSchema.Texts texts = new OrderDeserializationSchema.Texts();
        char[] buffer = "xxeu-westyy".toCharArray();
        String once = texts.of(buffer, 2, 7);
        assertEquals("eu-west", once);
        assertTrue(once == texts.of("eu-west".toCharArray(), 0, 7));
        for (int i = 0; i < 5_000; i++) { // more values than slots: each still reads as itself
            String value = "product " + i;
            assertEquals(value, texts.of(value.toCharArray(), 0, value.length()));
        }
        assertEquals("eu-west", texts.of("eu-west".toCharArray(), 0, 7));
        assertEquals("", texts.of(new char[0], 0, 0));
    }

    @Test
    void theFastTimestampPathReadsWhatJavaTimeReads() {
        for (String text : List.of("2026-01-01T00:00:00Z", "2026-01-01T00:00:00.001Z", "2026-12-31T23:59:59.9Z",
                "2024-02-29T12:34:56.12Z", "1969-12-31T23:59:59.999Z", "1970-01-01T00:00:00.123456789Z",
                "0001-01-01T00:00:00.5Z", "2026-06-15T08:00:00.000999Z")) {
            assertEquals(Instant.parse(text).toEpochMilli(), OrderDeserializationSchema.utcMillis(text), text);
            assertEquals(Instant.parse(text).toEpochMilli(), OrderDeserializationSchema.parseTimestamp(text), text);
        }
        // Other forms are left to java.time, which accepts or rejects them as before.
        for (String text : List.of("2026-01-01T01:00:00+01:00", "2026-02-30T00:00:00Z", "2026-01-01T24:00:00Z",
                "2026-01-01T00:00:00.Z", "2026-01-01 00:00:00Z", "2026-1-01T00:00:00Z")) {
            assertEquals(Long.MIN_VALUE, OrderDeserializationSchema.utcMillis(text), text);
        }
        assertThrows(RuntimeException.class, () -> OrderDeserializationSchema.parseTimestamp("2026-02-30T00:00:00Z"));
    }

    @Test
    void theUtcHourIsTheHourOfDay() {
        for (long millis : new long[] {0, 1, 3_599_999, 3_600_000, 86_399_999, -1, -3_600_001, 1_767_225_600_000L}) {
            assertEquals(Instant.ofEpochMilli(millis).atZone(java.time.ZoneOffset.UTC).getHour(),
                    OrderAnalytics.utcHour(millis), Long.toString(millis));
        }
    }

    private static String ids(JsonNode products) {
        List<String> ids = new ArrayList<>();
        products.forEach(p -> ids.add(p.get("product_id").asText()));
        return "[" + String.join(",", ids) + "]";
    }
}
