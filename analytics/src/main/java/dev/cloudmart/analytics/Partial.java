package dev.cloudmart.analytics;

import java.util.Map;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;

/**
 * What a source subtask sends to the window: one window's aggregate of the events it read
 * ({@code acc}), or one event it read after it had already sent that window ({@code event}),
 * which the window counts or reports late as it would the event itself.
 */
public class Partial {
    public long windowStart;
    public WindowAcc acc;
    public OrderEvent event;

    public Partial() {}

    static Partial of(long windowStart, WindowAcc acc) {
        Partial partial = new Partial();
        partial.windowStart = windowStart;
        partial.acc = acc;
        return partial;
    }

    static Partial of(OrderEvent event) {
        Partial partial = new Partial();
        partial.windowStart = Long.MIN_VALUE;
        partial.event = event;
        return partial;
    }

    public static final TypeInformation<Partial> TYPE =
            Types.POJO(
                    Partial.class,
                    Map.of(
                            "windowStart", Types.LONG,
                            "acc", WindowAcc.TYPE,
                            "event", Types.POJO(OrderEvent.class)));
}
