package dev.cloudmart.analytics;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.runtime.state.StateInitializationContext;
import org.apache.flink.runtime.state.StateSnapshotContext;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.api.windowing.windows.TimeWindow;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.runtime.watermarkstatus.WatermarkStatus;

/**
 * Each window's aggregate of what one source subtask read, sent on when that subtask's watermark
 * passes the window's end: the window task then merges a few aggregates per window instead of
 * receiving, deserialising and adding every event on one thread (ADR 0017). Chained to the source,
 * so events are never serialised at all. The windows here are panes that tile both the tumbling
 * and the trending windows (OrderAnalytics.analytics): each of those merges the panes it spans.
 *
 * <p>An event for a window this subtask has already sent goes on by itself, with its timestamp:
 * the window task counts it or reports it late, exactly as it would have without this step. A
 * window sent here is never late there: it leaves before the watermark that closed it, and the
 * window task's watermark is the least of its inputs'. Before this subtask turns idle (which
 * lets the others' watermarks close windows without it), everything open is sent. Open windows
 * are operator state, so a restored job neither loses nor repeats what they held.
 */
public final class PreAggregate extends AbstractStreamOperator<Partial>
        implements OneInputStreamOperator<OrderEvent, Partial> {
    private static final OrderAnalytics.Accumulate ADD = new OrderAnalytics.Accumulate();

    private final long windowMillis;
    private transient TreeMap<Long, WindowAcc> open;
    private transient ListState<Partial> saved;
    private transient long watermark;

    public PreAggregate(Duration window) {
        this.windowMillis = window.toMillis();
    }

    @Override
    public void initializeState(StateInitializationContext context) throws Exception {
        super.initializeState(context);
        open = new TreeMap<>();
        watermark = Long.MIN_VALUE;
        saved = context.getOperatorStateStore().getListState(new ListStateDescriptor<>("open-windows", Partial.TYPE));
        for (Partial partial : saved.get()) {
            open.merge(partial.windowStart, partial.acc, ADD::merge);
        }
    }

    @Override
    public void snapshotState(StateSnapshotContext context) throws Exception {
        super.snapshotState(context);
        List<Partial> partials = new ArrayList<>(open.size());
        open.forEach((start, acc) -> partials.add(Partial.of(start, acc)));
        saved.update(partials);
    }

    @Override
    public void processElement(StreamRecord<OrderEvent> element) throws Exception {
        long start = TimeWindow.getWindowStartWithOffset(element.getTimestamp(), 0, windowMillis);
        if (start + windowMillis - 1 <= watermark) {
            output.collect(element.replace(Partial.of(element.getValue())));
            return;
        }
        WindowAcc acc = open.get(start);
        if (acc == null) {
            acc = ADD.createAccumulator();
            open.put(start, acc);
        }
        ADD.add(element.getValue(), acc);
    }

    @Override
    public void processWatermark(Watermark mark) throws Exception {
        watermark = Math.max(watermark, mark.getTimestamp());
        sendUpTo(watermark);
        super.processWatermark(mark);
    }

    @Override
    public void processWatermarkStatus(WatermarkStatus status) throws Exception {
        if (status.isIdle()) {
            sendUpTo(Long.MAX_VALUE);
        }
        super.processWatermarkStatus(status);
    }

    private void sendUpTo(long mark) {
        while (!open.isEmpty()) {
            Map.Entry<Long, WindowAcc> first = open.firstEntry();
            long maxTimestamp = first.getKey() + windowMillis - 1;
            if (maxTimestamp > mark) {
                return;
            }
            open.pollFirstEntry();
            output.collect(new StreamRecord<>(Partial.of(first.getKey(), first.getValue()), maxTimestamp));
        }
    }
}
