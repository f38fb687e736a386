package dev.cloudmart.analytics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.runtime.watermarkstatus.WatermarkStatus;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;

/** The pre-aggregation alone: what it sends, when, and what survives a restore. */
class PreAggregateTest {
    private static final Duration WINDOW = Duration.ofSeconds(10);

    static OrderEvent created(long orderId, double amount) {
        OrderEvent event = new OrderEvent();
        event.eventType = "order_created";
        event.orderId = orderId;
        event.userId = orderId;
        event.region = "us-east";
        event.totalAmount = amount;
        event.productIds = new long[] {1};
        event.productNames = new String[] {"Mug"};
        event.quantities = new int[] {1};
        event.prices = new double[] {amount};
        return event;
    }

    static OneInputStreamOperatorTestHarness<OrderEvent, Partial> harness() throws Exception {
        return new OneInputStreamOperatorTestHarness<>(new PreAggregate(WINDOW));
    }

    /** The records sent so far (watermarks and statuses left out), and forgets them. */
    static List<StreamRecord<Partial>> sent(OneInputStreamOperatorTestHarness<OrderEvent, Partial> h) {
        List<StreamRecord<Partial>> records = new ArrayList<>();
        for (Object out : h.getOutput()) {
            if (out instanceof StreamRecord<?> record) {
                @SuppressWarnings("unchecked")
                StreamRecord<Partial> partial = (StreamRecord<Partial>) record;
                records.add(partial);
            }
        }
        h.getOutput().clear();
        return records;
    }

    @Test
    void aWindowIsSentOnceTheWatermarkPassesItsEndAheadOfTheWatermark() throws Exception {
        try (var h = harness()) {
            h.open();
            h.processElement(created(1, 5.0), 1_000);
            h.processElement(created(2, 7.0), 9_999);
            h.processElement(created(3, 1.0), 10_000); // the next window
            h.processWatermark(new Watermark(9_998));
            assertEquals(List.of(), sent(h));
            h.processWatermark(new Watermark(9_999));
            List<Object> output = new ArrayList<>(h.getOutput());
            List<StreamRecord<Partial>> records = sent(h);
            assertEquals(1, records.size());
            Partial first = records.get(0).getValue();
            assertEquals(9_999, records.get(0).getTimestamp());
            assertEquals(0, first.windowStart);
            assertEquals(2, first.acc.orders);
            assertEquals(12.0, first.acc.grossOrderValue);
            assertNull(first.event);
            assertEquals(new Watermark(9_999), output.get(1), "the window leaves before the watermark");
        }
    }

    @Test
    void anEventForAWindowAlreadySentGoesOnAloneWithItsTimestamp() throws Exception {
        try (var h = harness()) {
            h.open();
            h.processElement(created(1, 5.0), 1_000);
            h.processWatermark(new Watermark(10_500));
            sent(h);
            OrderEvent late = created(2, 3.0);
            h.processElement(late, 2_000);
            List<StreamRecord<Partial>> records = sent(h);
            assertEquals(1, records.size());
            assertEquals(2_000, records.get(0).getTimestamp());
            assertEquals(late.orderId, records.get(0).getValue().event.orderId);
            assertNull(records.get(0).getValue().acc);
        }
    }

    @Test
    void everythingOpenIsSentBeforeTheSubtaskTurnsIdle() throws Exception {
        try (var h = harness()) {
            h.open();
            h.processElement(created(1, 5.0), 1_000);
            h.processElement(created(2, 6.0), 25_000);
            h.processWatermarkStatus(WatermarkStatus.IDLE);
            List<Object> output = new ArrayList<>(h.getOutput());
            List<StreamRecord<Partial>> records = sent(h);
            assertEquals(List.of(0L, 20_000L), records.stream().map(r -> r.getValue().windowStart).toList());
            assertEquals(WatermarkStatus.IDLE, output.get(2));
            // Still open here: a later event of a window sent early starts a new aggregate.
            h.processElement(created(3, 1.0), 21_000);
            h.processWatermark(new Watermark(29_999));
            assertEquals(1, sent(h).get(0).getValue().acc.orders);
        }
    }

    @Test
    void openWindowsSurviveARestoreAndAreSentOnce() throws Exception {
        OperatorSubtaskState snapshot;
        try (var h = harness()) {
            h.open();
            h.processElement(created(1, 5.0), 1_000);
            h.processElement(created(2, 6.0), 2_000);
            snapshot = h.snapshot(1L, 1L);
        }
        try (var restored = harness()) {
            restored.initializeState(snapshot);
            restored.open();
            restored.processElement(created(3, 4.0), 3_000);
            restored.processWatermark(new Watermark(9_999));
            List<StreamRecord<Partial>> records = sent(restored);
            assertEquals(1, records.size());
            assertEquals(3, records.get(0).getValue().acc.orders);
            assertEquals(15.0, records.get(0).getValue().acc.grossOrderValue);
        }
    }
}
