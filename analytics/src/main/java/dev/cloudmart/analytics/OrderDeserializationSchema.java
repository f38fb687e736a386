package dev.cloudmart.analytics;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.time.Instant;
import java.time.OffsetDateTime;
import org.apache.flink.api.common.serialization.DeserializationSchema;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.util.Collector;

/** JSON order events; a malformed record is skipped (and counted), never fails the job. */
public class OrderDeserializationSchema implements DeserializationSchema<OrderEvent> {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    @Override
    public OrderEvent deserialize(byte[] message) throws IOException {
        return parse(MAPPER.readTree(message));
    }

    @Override
    public void deserialize(byte[] message, Collector<OrderEvent> out) {
        try {
            OrderEvent event = parse(MAPPER.readTree(message));
            if (event != null) {
                out.collect(event);
            }
        } catch (IOException | RuntimeException malformed) {
            // Poison on the topic: the notifications consumer dead-letters it; here it is skipped.
        }
    }

    static OrderEvent parse(JsonNode node) {
        if (node == null || !node.hasNonNull("event_type") || !node.hasNonNull("timestamp")) {
            return null;
        }
        OrderEvent event = new OrderEvent();
        event.eventType = node.get("event_type").asText();
        event.orderId = node.path("order_id").asLong();
        event.userId = node.path("user_id").asLong();
        JsonNode region = node.get("shipping_region");
        event.region = region == null || region.isNull() ? "unknown" : region.asText();
        event.totalAmount = node.path("total_amount").asDouble();
        event.timestamp = parseTimestamp(node.get("timestamp").asText());
        JsonNode items = node.path("items");
        int n = items.isArray() ? items.size() : 0;
        event.productIds = new long[n];
        event.productNames = new String[n];
        event.quantities = new int[n];
        event.prices = new double[n];
        for (int i = 0; i < n; i++) {
            JsonNode item = items.get(i);
            event.productIds[i] = item.path("product_id").asLong();
            event.productNames[i] = item.path("product_name").asText("");
            event.quantities[i] = item.path("quantity").asInt();
            event.prices[i] = item.path("price").asDouble();
        }
        return event;
    }

    static long parseTimestamp(String text) {
        try {
            return Instant.parse(text).toEpochMilli();
        } catch (RuntimeException notInstant) {
            return OffsetDateTime.parse(text).toInstant().toEpochMilli();
        }
    }

    @Override
    public boolean isEndOfStream(OrderEvent next) {
        return false;
    }

    @Override
    public TypeInformation<OrderEvent> getProducedType() {
        return TypeInformation.of(OrderEvent.class);
    }
}
