package dev.cloudmart.analytics;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.Map;
import org.apache.flink.api.common.functions.AggregateFunction;
import org.apache.flink.streaming.api.functions.windowing.ProcessAllWindowFunction;
import org.apache.flink.streaming.api.windowing.windows.TimeWindow;
import org.apache.flink.util.Collector;

/**
 * Trending products: the products sold over a sliding event-time window (15 minutes every 5 by
 * default in the cloud), ranked, one `trending_products` record per window. Sold as in the
 * tumbling windows' top products: paid, less refunded.
 */
public final class Trending {
    private Trending() {}

    /** The sliding windows: their size, how often one starts, and how many products each lists. */
    public static final class Spec {
        public final Duration size;
        public final Duration slide;
        public final int topN;

        public Spec(Duration size, Duration slide, int topN) {
            if (size.isNegative() || size.isZero() || slide.isNegative() || slide.isZero() || topN < 1) {
                throw new IllegalArgumentException("trending windows need a positive size, slide and top N");
            }
            this.size = size;
            this.slide = slide;
            this.topN = topN;
        }

        /**
         * Three tumbling windows long, one started with each: 15 minutes every 5 with the job's
         * 300 s windows, 30 s every 10 with the local tests' 10 s.
         */
        public static Spec defaults(Duration window) {
            return new Spec(window.multipliedBy(3), window, 10);
        }
    }

    /**
     * Adds the panes' products into each sliding window. A pane's aggregate is given to every
     * window that holds it, so a window copies what it adds and keeps none of its objects.
     */
    public static class MergeProducts implements AggregateFunction<Partial, WindowAcc, WindowAcc> {
        @Override
        public WindowAcc createAccumulator() {
            return new WindowAcc();
        }

        @Override
        public WindowAcc add(Partial partial, WindowAcc acc) {
            if (partial.event == null) {
                OrderAnalytics.mergeProducts(acc.products, partial.acc.products);
            } else if ("order_paid".equals(partial.event.eventType)) {
                OrderAnalytics.sold(partial.event, 1, acc.products);
            } else if ("order_cancelled".equals(partial.event.eventType) && OrderAnalytics.refunded(partial.event)) {
                OrderAnalytics.sold(partial.event, -1, acc.products);
            }
            return acc;
        }

        @Override
        public WindowAcc getResult(WindowAcc acc) {
            return acc;
        }

        @Override
        public WindowAcc merge(WindowAcc a, WindowAcc b) {
            OrderAnalytics.mergeProducts(a.products, b.products);
            return a;
        }
    }

    /** One `trending_products` record per window: the top products by units sold, then revenue. */
    public static class Emit extends ProcessAllWindowFunction<WindowAcc, String, TimeWindow> {
        static final Comparator<Map.Entry<Long, WindowAcc.ProductTotals>> BY_UNITS_THEN_REVENUE =
                Comparator.comparingLong((Map.Entry<Long, WindowAcc.ProductTotals> p) -> p.getValue().quantity)
                        .thenComparingDouble(p -> p.getValue().revenue)
                        .reversed();

        private final long sizeSeconds;
        private final long slideSeconds;
        private final int topN;

        public Emit(Spec spec) {
            this.sizeSeconds = spec.size.toSeconds();
            this.slideSeconds = spec.slide.toSeconds();
            this.topN = spec.topN;
        }

        @Override
        public void process(Context context, Iterable<WindowAcc> accs, Collector<String> out) throws Exception {
            WindowAcc acc = accs.iterator().next();
            ObjectNode node = OrderAnalytics.MAPPER.createObjectNode();
            node.put("result_type", "trending_products");
            node.put("window_start", Instant.ofEpochMilli(context.window().getStart()).toString());
            node.put("window_end", Instant.ofEpochMilli(context.window().getEnd()).toString());
            node.put("window_seconds", sizeSeconds);
            node.put("slide_seconds", slideSeconds);
            ArrayNode products = node.putArray("products");
            int rank = 0;
            for (Map.Entry<Long, WindowAcc.ProductTotals> entry
                    : OrderAnalytics.ranked(acc.products, BY_UNITS_THEN_REVENUE, topN)) {
                ObjectNode product = products.addObject();
                product.put("rank", ++rank);
                OrderAnalytics.product(product, entry);
            }
            OrderAnalytics.envelope(node, "trending_products",
                    node.get("window_start").asText() + "/" + node.get("window_end").asText());
            out.collect(OrderAnalytics.MAPPER.writeValueAsString(node));
        }
    }
}
