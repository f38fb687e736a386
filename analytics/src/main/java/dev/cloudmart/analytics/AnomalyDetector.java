package dev.cloudmart.analytics;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Arrays;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;

/** Adds `anomalies` to each window result and emits an `anomaly_detected` record per finding. */
public class AnomalyDetector extends KeyedProcessFunction<String, String, String> {
    private final AnomalyRule rule;
    private transient ValueState<double[]> orderHistory;
    private transient ValueState<double[]> revenueHistory;

    public AnomalyDetector(AnomalyRule rule) {
        this.rule = rule;
    }

    @Override
    public void open(OpenContext context) {
        orderHistory = getRuntimeContext().getState(
                new ValueStateDescriptor<>("order-history", PrimitiveArrayTypeInfo.DOUBLE_PRIMITIVE_ARRAY_TYPE_INFO));
        revenueHistory = getRuntimeContext().getState(
                new ValueStateDescriptor<>("revenue-history", PrimitiveArrayTypeInfo.DOUBLE_PRIMITIVE_ARRAY_TYPE_INFO));
    }

    @Override
    public void processElement(String json, Context context, Collector<String> out) throws Exception {
        ObjectNode window = (ObjectNode) OrderAnalytics.MAPPER.readTree(json);
        ArrayNode anomalies = window.putArray("anomalies");
        double orders = window.path("order_count").asDouble();
        double revenue = window.path("revenue").asDouble();
        check("order_count", orders, orderHistory, rule.minOrders, window, anomalies, out);
        check("revenue", revenue, revenueHistory, rule.minRevenue, window, anomalies, out);
        out.collect(OrderAnalytics.MAPPER.writeValueAsString(window));
    }

    private void check(String metric, double value, ValueState<double[]> state, double floor,
                       ObjectNode window, ArrayNode anomalies, Collector<String> out) throws Exception {
        double[] baseline = state.value() == null ? new double[0] : state.value();
        double threshold = rule.threshold(baseline, floor);
        double mean = AnomalyRule.mean(baseline);
        if (!Double.isNaN(threshold) && Math.abs(value - mean) > threshold) {
            ObjectNode finding = anomalies.addObject();
            finding.put("metric", metric);
            finding.put("value", value);
            finding.put("baseline_mean", OrderAnalytics.money(mean));
            finding.put("threshold", OrderAnalytics.money(threshold));
            finding.put("direction", value > mean ? "spike" : "drop");
            ObjectNode record = finding.deepCopy();
            record.put("result_type", "anomaly_detected");
            record.put("window_start", window.path("window_start").asText());
            record.put("window_end", window.path("window_end").asText());
            OrderAnalytics.envelope(record, "anomaly_detected", window.path("window_start").asText() + ":" + metric);
            out.collect(OrderAnalytics.MAPPER.writeValueAsString(record));
        }
        double[] next = Arrays.copyOf(baseline, baseline.length + 1);
        next[baseline.length] = value;
        if (next.length > rule.history) {
            next = Arrays.copyOfRange(next, next.length - rule.history, next.length);
        }
        state.update(next);
    }
}
