package dev.cloudmart.analytics;

import java.io.Serializable;

/**
 * When a window's figure is an anomaly, against the baseline of the windows before it.
 *
 * <p>With the mean m and standard deviation s of the last {@code history} windows (at least
 * {@code minBaseline} of them), a value x is flagged when |x - m| exceeds the largest of
 * {@code sigmas}·s, {@code relative}·m and an absolute floor (a few orders, some revenue), so
 * that a flat history (s = 0) or a tiny shop does not flag ordinary noise.
 */
public class AnomalyRule implements Serializable {
    public final int history;
    public final int minBaseline;
    public final double sigmas;
    public final double relative;
    public final double minOrders;
    public final double minRevenue;

    public AnomalyRule(int history, int minBaseline, double sigmas, double relative, double minOrders, double minRevenue) {
        this.history = history;
        this.minBaseline = minBaseline;
        this.sigmas = sigmas;
        this.relative = relative;
        this.minOrders = minOrders;
        this.minRevenue = minRevenue;
    }

    public static AnomalyRule defaults() {
        return new AnomalyRule(12, 4, 3.0, 0.5, 5, 50.0);
    }

    /** The threshold |x - m| must exceed, or NaN while the baseline is too short. */
    public double threshold(double[] baseline, double floor) {
        if (baseline.length < minBaseline) {
            return Double.NaN;
        }
        double mean = mean(baseline);
        double variance = 0;
        for (double v : baseline) {
            variance += (v - mean) * (v - mean);
        }
        double std = Math.sqrt(variance / baseline.length);
        return Math.max(Math.max(sigmas * std, relative * mean), floor);
    }

    public static double mean(double[] values) {
        double sum = 0;
        for (double v : values) {
            sum += v;
        }
        return values.length == 0 ? 0 : sum / values.length;
    }
}
