package dev.cloudmart.analytics;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.time.DateTimeException;
import java.time.Instant;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.util.Arrays;
import org.apache.flink.api.common.serialization.DeserializationSchema;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.util.Collector;

/**
 * JSON order events; a malformed record is skipped (and counted), never fails the job.
 *
 * <p>Read with Jackson's streaming parser, not its tree model: the tree of every event (a map per
 * object, a node per value) was a third of the source's time, and its generic deserialiser the
 * largest thing the JIT compiled in a short run. Fields the job does not use are skipped unread.
 */
public class OrderDeserializationSchema implements DeserializationSchema<OrderEvent> {
    private static final JsonFactory JSON = new JsonFactory();

    @Override
    public OrderEvent deserialize(byte[] message) throws IOException {
        return parse(message);
    }

    @Override
    public void deserialize(byte[] message, Collector<OrderEvent> out) {
        try {
            OrderEvent event = parse(message);
            if (event != null) {
                out.collect(event);
            }
        } catch (IOException | RuntimeException malformed) {
            // Poison on the topic: the notifications consumer dead-letters it; here it is skipped.
        }
    }

    /**
     * The event, or null when it is not an object with a non-null `event_type` and `timestamp`.
     * Values are read leniently, as JsonNode's asText/asLong/asDouble did: a missing or non-scalar
     * number is 0, a numeric string is its number, a missing `shipping_region` is "unknown".
     */
    static OrderEvent parse(byte[] message) throws IOException {
        try (JsonParser json = JSON.createParser(message)) {
            if (json.nextToken() != JsonToken.START_OBJECT) {
                return null;
            }
            OrderEvent event = new OrderEvent();
            event.region = "unknown";
            String timestamp = null;
            Items items = Items.NONE;
            while (json.nextToken() == JsonToken.FIELD_NAME) {
                String field = json.currentName();
                JsonToken value = json.nextToken();
                switch (field) {
                    case "event_type" -> event.eventType = text(json, value, null);
                    case "timestamp" -> timestamp = text(json, value, null);
                    case "order_id" -> event.orderId = number(json, json.getValueAsLong(0));
                    case "user_id" -> event.userId = number(json, json.getValueAsLong(0));
                    case "total_amount" -> event.totalAmount = number(json, json.getValueAsDouble(0));
                    case "shipping_region" -> event.region = text(json, value, "unknown");
                    case "items" -> items = Items.read(json, value);
                    default -> json.skipChildren();
                }
            }
            if (event.eventType == null || timestamp == null) {
                return null;
            }
            event.timestamp = parseTimestamp(timestamp);
            items.copyTo(event);
            return event;
        }
    }

    /** A number just read (0 for an object or array, whose contents are then skipped). */
    private static long number(JsonParser json, long value) throws IOException {
        json.skipChildren();
        return value;
    }

    private static double number(JsonParser json, double value) throws IOException {
        json.skipChildren();
        return value;
    }

    /** A scalar's text (a number's digits too), "" for an object or array, the default for null. */
    private static String text(JsonParser json, JsonToken value, String ifNull) throws IOException {
        if (value == JsonToken.VALUE_NULL) {
            return ifNull;
        }
        if (value.isStructStart()) {
            json.skipChildren();
            return "";
        }
        return json.getText();
    }

    /** The `items` array, grown as read; an item that is not an object counts with zeros. */
    private static final class Items {
        static final Items NONE = new Items(0);
        int size;
        long[] productIds;
        String[] productNames;
        int[] quantities;
        double[] prices;

        private Items(int capacity) {
            productIds = new long[capacity];
            productNames = new String[capacity];
            quantities = new int[capacity];
            prices = new double[capacity];
        }

        static Items read(JsonParser json, JsonToken value) throws IOException {
            if (value != JsonToken.START_ARRAY) {
                json.skipChildren();
                return NONE;
            }
            Items items = new Items(4);
            for (JsonToken item = json.nextToken(); item != JsonToken.END_ARRAY; item = json.nextToken()) {
                int i = items.add();
                if (item != JsonToken.START_OBJECT) {
                    json.skipChildren();
                    continue;
                }
                while (json.nextToken() == JsonToken.FIELD_NAME) {
                    String field = json.currentName();
                    JsonToken itemValue = json.nextToken();
                    switch (field) {
                        case "product_id" -> items.productIds[i] = number(json, json.getValueAsLong(0));
                        case "product_name" -> items.productNames[i] = text(json, itemValue, "");
                        case "quantity" -> items.quantities[i] = (int) number(json, json.getValueAsInt(0));
                        case "price" -> items.prices[i] = number(json, json.getValueAsDouble(0));
                        default -> json.skipChildren();
                    }
                }
            }
            return items;
        }

        private int add() {
            if (size == productIds.length) {
                int capacity = Math.max(4, size * 2);
                productIds = Arrays.copyOf(productIds, capacity);
                productNames = Arrays.copyOf(productNames, capacity);
                quantities = Arrays.copyOf(quantities, capacity);
                prices = Arrays.copyOf(prices, capacity);
            }
            productNames[size] = "";
            return size++;
        }

        void copyTo(OrderEvent event) {
            event.productIds = Arrays.copyOf(productIds, size);
            event.productNames = Arrays.copyOf(productNames, size);
            event.quantities = Arrays.copyOf(quantities, size);
            event.prices = Arrays.copyOf(prices, size);
        }
    }

    /**
     * Epoch milliseconds of an ISO-8601 timestamp. The orders service's own form
     * ({@code 2026-01-01T00:00:00.001Z}) is read without java.time's formatter, which cost as
     * much as the JSON parse itself; any other form (an offset, a leap second) goes through it.
     */
    static long parseTimestamp(String text) {
        long utc = utcMillis(text);
        if (utc != NOT_UTC) {
            return utc;
        }
        try {
            return Instant.parse(text).toEpochMilli();
        } catch (RuntimeException notInstant) {
            return OffsetDateTime.parse(text).toInstant().toEpochMilli();
        }
    }

    private static final long NOT_UTC = Long.MIN_VALUE;

    /** {@code yyyy-MM-ddTHH:mm:ss[.f{1,9}]Z} in epoch milliseconds, or NOT_UTC for anything else. */
    static long utcMillis(String text) {
        int n = text.length();
        if (n < 20 || n == 21 || n > 30 || text.charAt(4) != '-' || text.charAt(7) != '-' || text.charAt(10) != 'T'
                || text.charAt(13) != ':' || text.charAt(16) != ':' || text.charAt(n - 1) != 'Z'
                || (n > 20 && text.charAt(19) != '.')) {
            return NOT_UTC;
        }
        int year = digits(text, 0, 4);
        int month = digits(text, 5, 2);
        int day = digits(text, 8, 2);
        int hour = digits(text, 11, 2);
        int minute = digits(text, 14, 2);
        int second = digits(text, 17, 2);
        int fraction = n > 20 ? digits(text, 20, n - 21) : 0;
        if (year < 0 || month < 1 || month > 12 || day < 1 || day > 31 || hour < 0 || hour > 23
                || minute < 0 || minute > 59 || second < 0 || second > 59 || fraction < 0) {
            return NOT_UTC;
        }
        // Fraction digits beyond the third are below a millisecond: truncated, as toEpochMilli does.
        int millis = 0;
        for (int i = 20, scale = 100; i < Math.min(n - 1, 23); i++, scale /= 10) {
            millis += (text.charAt(i) - '0') * scale;
        }
        long days;
        try {
            days = LocalDate.of(year, month, day).toEpochDay();
        } catch (DateTimeException noSuchDay) {
            return NOT_UTC; // e.g. 02-30: java.time's parser rejects it with its own message
        }
        return ((days * 24 + hour) * 60 + minute) * 60_000L + second * 1000L + millis;
    }

    /** The value of {@code length} decimal digits at {@code from}, or -1 if one is not a digit. */
    private static int digits(String text, int from, int length) {
        int value = 0;
        for (int i = from; i < from + length; i++) {
            int digit = text.charAt(i) - '0';
            if (digit < 0 || digit > 9) {
                return -1;
            }
            value = value * 10 + digit;
        }
        return value;
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
