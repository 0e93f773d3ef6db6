package io.wirewatch.localstack;

import org.apache.lucene.util.Constants;
import org.elasticsearch.Build;
import org.elasticsearch.common.logging.LogConfigurator;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.node.InternalSettingsPreparer;
import org.elasticsearch.node.Node;
import org.elasticsearch.plugins.WirewatchClasspathPluginsLoader;
import org.elasticsearch.plugins.WirewatchClasspathPluginsLoader.ClasspathPlugin;
import org.elasticsearch.transport.netty4.Netty4Plugin;

import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Starts one real Elasticsearch 8 node inside this JVM, from jars resolved off Maven Central:
 * the server, the transport-netty4 plugin (HTTP + transport), {@link EnglishAnalysisPlugin} and
 * {@link RootEndpointPlugin}.
 * Single-node discovery, bound to the loopback address only, no security/x-pack (not on the class
 * path), disk watermarks off. Prints one line starting with {@value #READY_MARKER} when HTTP answers.
 * SIGTERM / SIGINT close the node and exit 0.
 *
 * <pre>
 * java -Xms1g -Xmx1g -cp 'CACHE/lib/*:CACHE/launcher.jar' io.wirewatch.localstack.ElasticsearchNode \
 *   --http-port 9200 --data DIR --logs DIR [--home DIR] [--cluster-name wirewatch-local] [--node-name NAME]
 *   [--host 127.0.0.1] [--transport-port 9300] [--pid-file FILE] [-E key=value ...]
 * </pre>
 */
public final class ElasticsearchNode {

    public static final String READY_MARKER = "WIREWATCH-ELASTICSEARCH-READY";

    private static final String USAGE = """
        usage: ElasticsearchNode --data DIR --logs DIR [--http-port 9200] [--transport-port 9300]
                                 [--host 127.0.0.1] [--home DIR] [--cluster-name wirewatch-local]
                                 [--node-name NAME] [--pid-file FILE] [-E key=value ...]
          --home defaults to the folder next to --data called 'home' (config/ and tmp files go there).
          -E adds/overrides any Elasticsearch node setting.""";

    // Minimal logging config: console (stdout) + <logs>/<cluster>.log, rolled at 64 MB, 4 kept.
    private static final String LOG4J2_PROPERTIES = """
        status = error
        appender.console.type = Console
        appender.console.name = console
        appender.console.layout.type = PatternLayout
        appender.console.layout.pattern = [%d{ISO8601}][%-5p][%-25c{1.}] [%node_name]%marker %m%n
        appender.rolling.type = RollingFile
        appender.rolling.name = rolling
        appender.rolling.fileName = ${sys:es.logs.base_path}${sys:file.separator}${sys:es.logs.cluster_name}.log
        appender.rolling.filePattern = ${sys:es.logs.base_path}${sys:file.separator}${sys:es.logs.cluster_name}-%i.log
        appender.rolling.layout.type = PatternLayout
        appender.rolling.layout.pattern = [%d{ISO8601}][%-5p][%-25c{1.}] [%node_name]%marker %m%n
        appender.rolling.policies.type = Policies
        appender.rolling.policies.size.type = SizeBasedTriggeringPolicy
        appender.rolling.policies.size.size = 64MB
        appender.rolling.strategy.type = DefaultRolloverStrategy
        appender.rolling.strategy.max = 4
        rootLogger.level = info
        rootLogger.appenderRef.console.ref = console
        rootLogger.appenderRef.rolling.ref = rolling
        # noisy at INFO on a dev box
        logger.deprecation.name = org.elasticsearch.deprecation
        logger.deprecation.level = error
        """;

    private ElasticsearchNode() {}

    public static void main(String[] argv) throws Exception {
        // as the distribution's jvm.options: log4j must not stop itself on SIGTERM before the node has closed
        System.setProperty("log4j.shutdownHookEnabled", "false");
        System.setProperty("log4j2.disable.jmx", "true");
        final PrintStream out = System.out;
        final long t0 = System.nanoTime();
        final Map<String, String> opts = new LinkedHashMap<>();
        final Settings.Builder extra = Settings.builder();
        for (int i = 0; i < argv.length; i++) {
            String a = argv[i];
            if (a.equals("-h") || a.equals("--help")) {
                out.println(USAGE);
                return;
            }
            if (i + 1 >= argv.length) {
                fail("missing value for " + a);
            }
            String v = argv[++i];
            if (a.equals("-E")) {
                int eq = v.indexOf('=');
                if (eq <= 0) fail("-E expects key=value, got " + v);
                extra.put(v.substring(0, eq), v.substring(eq + 1));
            } else if (a.startsWith("--")) {
                opts.put(a.substring(2), v);
            } else {
                fail("unexpected argument " + a);
            }
        }
        for (String k : opts.keySet()) {
            if (List.of("data", "logs", "home", "http-port", "transport-port", "host", "cluster-name", "node-name", "pid-file")
                .contains(k) == false) {
                fail("unknown option --" + k);
            }
        }
        if (opts.containsKey("data") == false || opts.containsKey("logs") == false) {
            fail("--data and --logs are required");
        }

        final Path data = Files.createDirectories(Path.of(opts.get("data")).toAbsolutePath().normalize());
        final Path logs = Files.createDirectories(Path.of(opts.get("logs")).toAbsolutePath().normalize());
        final Path home = Files.createDirectories(
            Path.of(opts.getOrDefault("home", data.resolveSibling("home").toString())).toAbsolutePath().normalize()
        );
        final Path config = Files.createDirectories(home.resolve("config"));
        final Path tmp = Files.createDirectories(home.resolve("tmp"));
        Files.writeString(config.resolve("log4j2.properties"), LOG4J2_PROPERTIES, StandardCharsets.UTF_8);

        final String host = opts.getOrDefault("host", "127.0.0.1");
        final int httpPort = Integer.parseInt(opts.getOrDefault("http-port", "9200"));
        final String transportPort = opts.getOrDefault("transport-port", "9300");
        final String clusterName = opts.getOrDefault("cluster-name", "wirewatch-local");
        final String nodeName = opts.getOrDefault("node-name", clusterName + "-node");

        Settings settings = Settings.builder()
            .put("path.home", home.toString())
            .put("path.data", data.toString())
            .put("path.logs", logs.toString())
            .put("cluster.name", clusterName)
            .put("node.name", nodeName)
            .put("network.host", host) // binds and publishes on loopback only
            .put("http.port", httpPort)
            .put("transport.port", transportPort)
            .put("discovery.type", "single-node")
            .putList("node.roles", "master", "data", "ingest")
            // a nearly full dev disk must not turn indices read-only
            .put("cluster.routing.allocation.disk.threshold_enabled", false)
            .put("cluster.routing.allocation.disk.watermark.low", "99%")
            .put("cluster.routing.allocation.disk.watermark.high", "99%")
            .put("cluster.routing.allocation.disk.watermark.flood_stage", "99%")
            .put("action.auto_create_index", true)
            .put(extra.build())
            .build();

        Environment environment = InternalSettingsPreparer.prepareEnvironment(settings, Map.of(), config, () -> nodeName);

        LogConfigurator.registerErrorListener();
        LogConfigurator.setClusterName(clusterName);
        LogConfigurator.setNodeName(nodeName);
        LogConfigurator.configure(environment, true);

        if (opts.containsKey("pid-file")) {
            Path pidFile = Path.of(opts.get("pid-file")).toAbsolutePath();
            Files.createDirectories(pidFile.getParent());
            Files.writeString(pidFile, Long.toString(ProcessHandle.current().pid()));
        }
        System.setProperty("java.io.tmpdir", tmp.toString());

        WirewatchClasspathPluginsLoader plugins = WirewatchClasspathPluginsLoader.of(
            List.of(
                new ClasspathPlugin("transport-netty4", "Netty 4 HTTP and transport layer", Netty4Plugin.class),
                new ClasspathPlugin("wirewatch-analysis-english", "english analyzer and stemmers over Lucene", EnglishAnalysisPlugin.class),
                new ClasspathPlugin("wirewatch-rest-root", "GET / and HEAD / (stand-in for the rest-root module)", RootEndpointPlugin.class)
            ),
            home.resolve("classpath-plugins")
        );

        final Node node = new Node(environment, plugins);
        final CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            out.println("WIREWATCH-ELASTICSEARCH-STOPPING");
            out.flush();
            try {
                node.prepareForClose();
                node.close();
                if (node.awaitClose(20, TimeUnit.SECONDS) == false) {
                    System.err.println("elasticsearch node did not close within 20s");
                }
            } catch (Exception e) {
                e.printStackTrace();
            } finally {
                out.println("WIREWATCH-ELASTICSEARCH-STOPPED");
                out.flush();
                stopped.countDown();
            }
        }, "wirewatch-es-shutdown"));

        // SIGTERM/SIGINT: a normal exit (status 0) that runs the hook above, instead of the JVM's 143/130
        for (String sig : List.of("TERM", "INT")) {
            sun.misc.Signal.handle(new sun.misc.Signal(sig), s -> System.exit(0));
        }

        node.start();

        String url = "http://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + httpPort + "/";
        waitForHttp(url);
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        out.println(
            READY_MARKER + " url=" + url + " version=" + Build.current().version() + " cluster=" + clusterName + " pid="
                + ProcessHandle.current().pid() + " java=" + Runtime.version() + " lucene=" + org.apache.lucene.util.Version.LATEST
                + " startup_ms=" + ms + " os=" + Constants.OS_NAME
        );
        out.flush();

        // keep the JVM alive until the shutdown hook has closed the node
        stopped.await();
    }

    private static void waitForHttp(String url) throws InterruptedException {
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        HttpRequest req = HttpRequest.newBuilder(URI.create(url + "_cluster/health?wait_for_status=yellow&timeout=30s"))
            .timeout(Duration.ofSeconds(40))
            .build();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (true) {
            try {
                HttpResponse<String> r = client.send(req, HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200) return;
            } catch (IOException e) {
                // not yet
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("elasticsearch did not answer on " + url + " within 120s");
            }
            Thread.sleep(200);
        }
    }

    private static void fail(String msg) {
        System.err.println(msg);
        System.err.println(USAGE);
        System.exit(2);
    }
}
