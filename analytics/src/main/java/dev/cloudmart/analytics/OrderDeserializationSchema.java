package dev.cloudmart.analytics;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
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
    // Jackson's bundled FastDoubleParser: the JDK's parse of every amount and price was a
    // tenth of the source thread's time.
    private static final JsonFactory JSON =
            JsonFactory.builder().enable(StreamReadFeature.USE_FAST_DOUBLE_PARSER).build();

    /** This subtask's reader: one thread calls a schema instance, so its buffers are reused. */
    private transient Reader reader;

    @Override
    public OrderEvent deserialize(byte[] message) throws IOException {
        return reader().parse(message);
    }

    @Override
    public void deserialize(byte[] message, Collector<OrderEvent> out) {
        try {
            OrderEvent event = reader().parse(message);
            if (event != null) {
                out.collect(event);
            }
        } catch (IOException | RuntimeException malformed) {
            // Poison on the topic: the notifications consumer dead-letters it; here it is skipped.
        }
    }

    private Reader reader() {
        if (reader == null) {
            reader = new Reader();
        }
        return reader;
    }

    /** One event read by a fresh reader (tests; the job reuses one reader per subtask). */
    static OrderEvent parse(byte[] message) throws IOException {
        return new Reader().parse(message);
    }

    /**
     * Reads events one after another on one thread, reusing what does not leave with the event:
     * the item arrays it grows, and the strings of values that repeat from event to event (event
     * types, regions, product names), which it returns again instead of allocating each time.
     * Allocated per event, they made young collections that took both cores for 10 ms every
     * 80 ms of a replay (ADR 0017).
     */
    static final class Reader {
        private final Items items = new Items();
        private final Texts texts = new Texts();

        /**
         * The event, or null when it is not an object with a non-null `event_type` and `timestamp`.
         * Values are read leniently, as JsonNode's asText/asLong/asDouble did: a missing or non-scalar
         * number is 0, a numeric string is its number, a missing `shipping_region` is "unknown", a
         * missing `previous_status` null (a cancellation then counts as unpaid: no refund).
         */
        OrderEvent parse(byte[] message) throws IOException {
            try (JsonParser json = JSON.createParser(message)) {
                if (json.nextToken() != JsonToken.START_OBJECT) {
                    return null;
                }
                OrderEvent event = new OrderEvent();
                event.region = "unknown";
                long timestamp = NO_TIMESTAMP;
                items.size = 0;
                while (json.nextToken() == JsonToken.FIELD_NAME) {
                    String field = json.currentName();
                    JsonToken value = json.nextToken();
                    switch (field) {
                        case "event_type" -> event.eventType = text(json, value, null);
                        case "timestamp" -> timestamp = timestamp(json, value);
                        case "order_id" -> event.orderId = number(json, json.getValueAsLong(0));
                        case "user_id" -> event.userId = number(json, json.getValueAsLong(0));
                        case "total_amount" -> event.totalAmount = number(json, json.getValueAsDouble(0));
                        case "shipping_region" -> event.region = text(json, value, "unknown");
                        case "previous_status" -> event.previousStatus = text(json, value, null);
                        case "items" -> readItems(json, value);
                        default -> json.skipChildren();
                    }
                }
                if (event.eventType == null || timestamp == NO_TIMESTAMP) {
                    return null;
                }
                event.timestamp = timestamp;
                items.copyTo(event);
                return event;
            }
        }

        /** A scalar's text (a number's digits too), "" for an object or array, the default for null. */
        private String text(JsonParser json, JsonToken value, String ifNull) throws IOException {
            if (value == JsonToken.VALUE_NULL) {
                return ifNull;
            }
            if (value.isStructStart()) {
                json.skipChildren();
                return "";
            }
            return texts.of(json.getTextCharacters(), json.getTextOffset(), json.getTextLength());
        }

        /** The `timestamp` in epoch milliseconds, NO_TIMESTAMP for null; read from the parser's own buffer. */
        private static long timestamp(JsonParser json, JsonToken value) throws IOException {
            if (value == JsonToken.VALUE_NULL) {
                return NO_TIMESTAMP;
            }
            if (value.isStructStart()) {
                json.skipChildren();
                return parseTimestamp("");
            }
            char[] chars = json.getTextCharacters();
            int offset = json.getTextOffset();
            int length = json.getTextLength();
            long utc = utcMillis(chars, offset, length);
            return utc != NOT_UTC ? utc : parseTimestamp(new String(chars, offset, length));
        }

        /** The `items` array; an item that is not an object counts with zeros. */
        private void readItems(JsonParser json, JsonToken value) throws IOException {
            items.size = 0;
            if (value != JsonToken.START_ARRAY) {
                json.skipChildren();
                return;
            }
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
        }
    }

    private static final long NO_TIMESTAMP = Long.MIN_VALUE + 1;

    /** A number just read (0 for an object or array, whose contents are then skipped). */
    private static long number(JsonParser json, long value) throws IOException {
        json.skipChildren();
        return value;
    }

    private static double number(JsonParser json, double value) throws IOException {
        json.skipChildren();
        return value;
    }

    /** One event's items, in arrays grown as needed and reused for the next event. */
    private static final class Items {
        int size;
        long[] productIds = new long[4];
        String[] productNames = new String[4];
        int[] quantities = new int[4];
        double[] prices = new double[4];

        int add() {
            if (size == productIds.length) {
                int capacity = size * 2;
                productIds = Arrays.copyOf(productIds, capacity);
                productNames = Arrays.copyOf(productNames, capacity);
                quantities = Arrays.copyOf(quantities, capacity);
                prices = Arrays.copyOf(prices, capacity);
            }
            productIds[size] = 0;
            productNames[size] = "";
            quantities[size] = 0;
            prices[size] = 0;
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
     * Strings seen recently, by content: a value equal to one of them is that string again. A
     * fixed table of 1,024 slots (a slot keeps the latest string that hashed to it), so memory
     * stays bounded whatever the values; a value seen once costs what it did before.
     */
    static final class Texts {
        private final String[] slots = new String[1024];

        String of(char[] chars, int offset, int length) {
            int hash = 0;
            for (int i = offset; i < offset + length; i++) {
                hash = 31 * hash + chars[i];
            }
            int slot = (hash ^ (hash >>> 16)) & (slots.length - 1);
            String seen = slots[slot];
            if (seen != null && seen.length() == length) {
                int i = 0;
                while (i < length && seen.charAt(i) == chars[offset + i]) {
                    i++;
                }
                if (i == length) {
                    return seen;
                }
            }
            String text = new String(chars, offset, length);
            slots[slot] = text;
            return text;
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

    static long utcMillis(String text) {
        return utcMillis(text.toCharArray(), 0, text.length());
    }

    /** {@code yyyy-MM-ddTHH:mm:ss[.f{1,9}]Z} in epoch milliseconds, or NOT_UTC for anything else. */
    static long utcMillis(char[] chars, int offset, int n) {
        if (n < 20 || n == 21 || n > 30 || chars[offset + 4] != '-' || chars[offset + 7] != '-' || chars[offset + 10] != 'T'
                || chars[offset + 13] != ':' || chars[offset + 16] != ':' || chars[offset + n - 1] != 'Z'
                || (n > 20 && chars[offset + 19] != '.')) {
            return NOT_UTC;
        }
        int year = digits(chars, offset, 4);
        int month = digits(chars, offset + 5, 2);
        int day = digits(chars, offset + 8, 2);
        int hour = digits(chars, offset + 11, 2);
        int minute = digits(chars, offset + 14, 2);
        int second = digits(chars, offset + 17, 2);
        int fraction = n > 20 ? digits(chars, offset + 20, n - 21) : 0;
        if (year < 0 || month < 1 || month > 12 || day < 1 || day > 31 || hour < 0 || hour > 23
                || minute < 0 || minute > 59 || second < 0 || second > 59 || fraction < 0) {
            return NOT_UTC;
        }
        // Fraction digits beyond the third are below a millisecond: truncated, as toEpochMilli does.
        int millis = 0;
        for (int i = 20, scale = 100; i < Math.min(n - 1, 23); i++, scale /= 10) {
            millis += (chars[offset + i] - '0') * scale;
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
    private static int digits(char[] chars, int from, int length) {
        int value = 0;
        for (int i = from; i < from + length; i++) {
            int digit = chars[i] - '0';
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
