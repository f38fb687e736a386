package dev.cloudmart.analytics;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.apache.flink.api.common.serialization.SimpleStringEncoder;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ExecutionOptions;
import org.apache.flink.configuration.PipelineOptions;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.file.sink.FileSink;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.core.fs.Path;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.filesystem.bucketassigners.DateTimeBucketAssigner;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * The job's entry point. Locally (`--web-ui-port 18081`) it runs in a MiniCluster with the web UI;
 * with `--web-ui-port 0` it takes the environment it is given (a Flink cluster: Dataproc or the
 * Flink Kubernetes Operator).
 *
 * <pre>
 * --bootstrap 127.0.0.1:19092  --input orders  --output analytics-results  --group order-analytics
 * --security-protocol PLAINTEXT|SSL (MSK's TLS listener, 9094: SSL; the JVM's trust store verifies
 * MSK's certificates)
 * --window-seconds 300  --out-of-orderness-seconds 10  --idle-seconds 30  --top-n 5
 * --trending-seconds 900  --trending-slide-seconds 300  --trending-top-n 10 (trending products:
 * sliding windows; by default 3 x --window-seconds, sliding by --window-seconds)
 * --checkpoint-dir .cloudmart/data/flink/checkpoints  --checkpoint-ms 60000  --restore-from PATH
 * --resume-latest true (restore from the newest checkpoint under --checkpoint-dir/STATE_LAYOUT)
 * --lake-dir .cloudmart/data/lake  --parallelism 4  --delivery exactly-once|at-least-once
 * --txn-timeout-ms 900000  --web-ui-port 18081  --metrics-port 19249 (Prometheus; 0: off)
 * --fetch-max-wait-ms 500  --fetch-min-bytes 1  --watermark-interval-ms 200
 * --buffer-timeout-ms 100 (Flink's and Kafka's defaults; the local stack, idle most of the time,
 * passes 1000, 1048576, 1000 and 1000: see local/src/cloudmart_local/components.py)
 * </pre>
 */
public final class OrderAnalyticsJob {
    /**
     * Checkpoints go to this sub-directory of --checkpoint-dir. A change of the job graph that
     * state cannot be mapped across (Flink refuses such a restore) takes a new name, so that a
     * job resuming its latest checkpoint starts afresh instead of failing at every start:
     * layout-2 added the per-source pre-aggregation and explicit operator ids (ADR 0012); layout-3
     * keyed products and buyers by number, one entry per product and region (ADR 0017); layout-4
     * counted payments and refunds apart from orders (revenue is money taken) and added the
     * trending windows: a window restored from layout-3 would mix the two meanings of revenue.
     */
    static final String STATE_LAYOUT = "layout-4";

    private OrderAnalyticsJob() {}

    public static void main(String[] args) throws Exception {
        Map<String, String> options = parse(args);
        String bootstrap = options.getOrDefault("bootstrap", "127.0.0.1:19092");
        String securityProtocol = options.getOrDefault("security-protocol", "PLAINTEXT");
        Duration window = Duration.ofSeconds(Long.parseLong(options.getOrDefault("window-seconds", "300")));
        Trending.Spec trending = trending(options, window);
        int webUiPort = Integer.parseInt(options.getOrDefault("web-ui-port", "18081"));

        Configuration conf = new Configuration();
        conf.set(PipelineOptions.GENERIC_TYPES, false); // anything headed for Kryo fails at build time
        // Chained operators hand events over without a (reflective) copy of each one: no operator
        // keeps or changes an input object after returning (the window keeps only its Strings).
        conf.set(PipelineOptions.OBJECT_REUSE, true);
        // How often each task's output is flushed and each source emits its watermark: every
        // flush and watermark wakes the tasks downstream, loaded or idle (the local stack sets
        // once a second; a throughput run needs the defaults to time the windows finely).
        conf.set(ExecutionOptions.BUFFER_TIMEOUT,
                Duration.ofMillis(Long.parseLong(options.getOrDefault("buffer-timeout-ms", "100"))));
        conf.set(PipelineOptions.AUTO_WATERMARK_INTERVAL,
                Duration.ofMillis(Long.parseLong(options.getOrDefault("watermark-interval-ms", "200"))));
        conf.set(CheckpointingOptions.CHECKPOINT_STORAGE, "filesystem");
        String checkpoints = options.getOrDefault("checkpoint-dir", "checkpoints") + "/" + STATE_LAYOUT;
        conf.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY, uri(checkpoints));
        // Kept when the job is cancelled or stopped, so a restart can resume from the last one.
        conf.setString("execution.checkpointing.externalized-checkpoint-retention", "RETAIN_ON_CANCELLATION");
        String restoreFrom = options.get("restore-from");
        if (restoreFrom == null && Boolean.parseBoolean(options.getOrDefault("resume-latest", "false"))) {
            restoreFrom = latestCheckpoint(new File(checkpoints));
        }
        if (restoreFrom != null) {
            // Window state and source offsets come back: nothing lost, nothing counted twice.
            conf.set(StateRecoveryOptions.SAVEPOINT_PATH, uri(restoreFrom));
        }
        StreamExecutionEnvironment env;
        if (webUiPort > 0) {
            conf.set(RestOptions.BIND_ADDRESS, "127.0.0.1");
            conf.set(RestOptions.ADDRESS, "127.0.0.1");
            conf.set(RestOptions.PORT, webUiPort);
            int metricsPort = Integer.parseInt(options.getOrDefault("metrics-port", "0"));
            if (metricsPort > 0) {
                // In a cluster the reporter is configured in the Flink configuration instead.
                conf.setString("metrics.reporter.prom.factory.class",
                        "org.apache.flink.metrics.prometheus.PrometheusReporterFactory");
                conf.setString("metrics.reporter.prom.port", String.valueOf(metricsPort));
                conf.setString("metrics.reporter.prom.host", "127.0.0.1");
                // Only what deploy/observability/metric-names.txt promises (the rules and dashboards
                // read nothing else): the full set was 1,800 series, 540 kB per 5 s scrape.
                conf.setString("metrics.reporter.prom.filter.includes", String.join(";",
                        "jobmanager.job:numberOfFailedCheckpoints,numberOfCompletedCheckpoints,"
                                + "lastCheckpointDuration,uptime,numRestarts",
                        "taskmanager.job.task.operator:numRecordsInPerSecond,numRecordsOutPerSecond,"
                                + "currentInputWatermark",
                        "taskmanager.job.task.operator.KafkaSourceReader.KafkaConsumer:records-lag-max"));
            }
            env = StreamExecutionEnvironment.createLocalEnvironmentWithWebUI(conf);
        } else {
            env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        }
        env.setParallelism(Integer.parseInt(options.getOrDefault("parallelism", "4")));
        env.enableCheckpointing(Long.parseLong(options.getOrDefault("checkpoint-ms", "60000")));

        KafkaSource<OrderEvent> source = KafkaSource.<OrderEvent>builder()
                .setBootstrapServers(bootstrap)
                .setTopics(options.getOrDefault("input", "orders"))
                .setGroupId(options.getOrDefault("group", "order-analytics"))
                .setStartingOffsets(OffsetsInitializer.earliest())
                .setProperty("isolation.level", "read_committed")
                .setProperty("security.protocol", securityProtocol)
                // The broker answers a fetch once it holds this much or this long has passed:
                // the local stack asks for one fetch a second per reader instead of one per
                // order event (each a broker request and a wake-up of the reader's threads).
                .setProperty("fetch.max.wait.ms", options.getOrDefault("fetch-max-wait-ms", "500"))
                .setProperty("fetch.min.bytes", options.getOrDefault("fetch-min-bytes", "1"))
                .setValueOnlyDeserializer(new OrderDeserializationSchema())
                .build();
        DataStream<OrderEvent> events = env.fromSource(
                source,
                OrderAnalytics.watermarks(
                        Duration.ofSeconds(Long.parseLong(options.getOrDefault("out-of-orderness-seconds", "10"))),
                        Duration.ofSeconds(Long.parseLong(options.getOrDefault("idle-seconds", "30")))),
                "orders-kafka")
                .uid("orders-kafka");

        DataStream<String> results = OrderAnalytics.analytics(
                events, window, Integer.parseInt(options.getOrDefault("top-n", "5")), AnomalyRule.defaults(), trending);

        boolean exactlyOnce = !"at-least-once".equals(options.get("delivery"));
        String output = options.getOrDefault("output", "analytics-results");
        KafkaSink<String> kafka = KafkaSink.<String>builder()
                .setBootstrapServers(bootstrap)
                .setProperty("security.protocol", securityProtocol)
                .setRecordSerializer(new ByWindowStart(output))
                .setDeliveryGuarantee(exactlyOnce ? DeliveryGuarantee.EXACTLY_ONCE : DeliveryGuarantee.AT_LEAST_ONCE)
                .setTransactionalIdPrefix("order-analytics")
                // The broker refuses a transaction timeout above its own maximum (15 min).
                .setProperty("transaction.timeout.ms", options.getOrDefault("txn-timeout-ms", "900000"))
                .build();
        results.sinkTo(kafka).name("analytics-results-kafka").uid("analytics-results-kafka").setParallelism(1);

        // The data lake: JSON lines in one directory per UTC day (gs:// in the cloud).
        FileSink<String> lake = FileSink.forRowFormat(
                        new Path(uri(options.getOrDefault("lake-dir", "lake"))),
                        new SimpleStringEncoder<String>(StandardCharsets.UTF_8.name()))
                .withBucketAssigner(new DateTimeBucketAssigner<>("'date='yyyy-MM-dd", java.time.ZoneOffset.UTC))
                .build();
        results.sinkTo(lake).name("data-lake").uid("data-lake").setParallelism(1);

        env.execute("order-analytics");
    }

    /** The trending windows of the options; what is not given follows from the window (Trending.Spec.defaults). */
    static Trending.Spec trending(Map<String, String> options, Duration window) {
        Trending.Spec defaults = Trending.Spec.defaults(window);
        return new Trending.Spec(
                seconds(options, "trending-seconds", defaults.size),
                seconds(options, "trending-slide-seconds", defaults.slide),
                Integer.parseInt(options.getOrDefault("trending-top-n", String.valueOf(defaults.topN))));
    }

    private static Duration seconds(Map<String, String> options, String name, Duration otherwise) {
        String given = options.get(name);
        return given == null ? otherwise : Duration.ofSeconds(Long.parseLong(given));
    }

    /** The newest completed checkpoint (a `chk-N` with its `_metadata`) of any earlier run. */
    static String latestCheckpoint(File root) {
        File[] jobs = root.listFiles(File::isDirectory);
        File newest = null;
        for (File job : jobs == null ? new File[0] : jobs) {
            File[] checkpoints = job.listFiles(f -> f.getName().startsWith("chk-") && new File(f, "_metadata").isFile());
            for (File checkpoint : checkpoints == null ? new File[0] : checkpoints) {
                if (newest == null || new File(checkpoint, "_metadata").lastModified() > new File(newest, "_metadata").lastModified()) {
                    newest = checkpoint;
                }
            }
        }
        return newest == null ? null : newest.getAbsolutePath();
    }

    static String uri(String location) {
        return location.contains("://") ? location : new File(location).getAbsoluteFile().toURI().toString();
    }

    static Map<String, String> parse(String[] args) {
        Map<String, String> options = new HashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            if (!args[i].startsWith("--")) {
                throw new IllegalArgumentException("expected --name value, got " + args[i]);
            }
            options.put(args[i].substring(2), args[i + 1]);
        }
        return options;
    }

    /** Keyed by the window start, so one window's results stay in one partition, in order. */
    static final class ByWindowStart implements KafkaRecordSerializationSchema<String> {
        private final String topic;

        ByWindowStart(String topic) {
            this.topic = topic;
        }

        @Override
        public ProducerRecord<byte[], byte[]> serialize(String json, KafkaSinkContext context, Long timestamp) {
            String key;
            try {
                JsonNode node = OrderAnalytics.MAPPER.readTree(json);
                key = node.path("window_start").asText(node.path("order_id").asText(""));
            } catch (Exception malformed) {
                key = "";
            }
            return new ProducerRecord<>(topic, null, null,
                    key.getBytes(StandardCharsets.UTF_8), json.getBytes(StandardCharsets.UTF_8));
        }
    }
}
