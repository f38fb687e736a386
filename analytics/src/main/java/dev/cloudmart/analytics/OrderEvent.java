package dev.cloudmart.analytics;

/** One event of topic `orders` (architecture.md §5), flattened so Flink serialises it without Kryo. */
public class OrderEvent {
    public String eventType;
    public long orderId;
    public long userId;
    public String region;
    public double totalAmount;
    /** An `order_cancelled` event's `previous_status` (null for other events). */
    public String previousStatus;
    /** Event time, epoch milliseconds, from the event's `timestamp`. */
    public long timestamp;
    public long[] productIds;
    public String[] productNames;
    public int[] quantities;
    public double[] prices;

    public OrderEvent() {}
}
