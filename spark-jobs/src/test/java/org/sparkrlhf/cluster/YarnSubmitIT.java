package org.sparkrlhf.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.apache.hadoop.yarn.conf.YarnConfiguration;
import org.apache.hadoop.yarn.server.MiniYARNCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * spark-submit of the application jar to YARN (a MiniYARNCluster whose default file system is a
 * MiniDFSCluster), in client and in cluster mode: the client reads the cluster from
 * HADOOP_CONF_DIR, as on an edge node.
 */
class YarnSubmitIT {
    static final Path WORK = Path.of("target/it-yarn").toAbsolutePath();
    static SparkDistribution spark;
    static MiniDFSCluster hdfs;
    static MiniYARNCluster yarn;
    static Path confDir;

    @BeforeAll
    static void start() throws Exception {
        Files.createDirectories(WORK);
        spark = new SparkDistribution(Path.of("target/it-spark-home"));
        hdfs = SparkDistribution.startHdfs(WORK);

        YarnConfiguration conf = new YarnConfiguration();
        conf.set("fs.defaultFS", hdfs.getFileSystem().getUri().toString());
        conf.set("yarn.resourcemanager.scheduler.class", "org.apache.hadoop.yarn.server.resourcemanager.scheduler.capacity.CapacityScheduler");
        conf.set("yarn.scheduler.capacity.root.queues", "default");
        conf.set("yarn.scheduler.capacity.root.default.capacity", "100");
        conf.set("yarn.scheduler.capacity.root.default.maximum-capacity", "100");
        conf.set("yarn.scheduler.capacity.maximum-am-resource-percent", "0.5");
        conf.setInt("yarn.scheduler.minimum-allocation-mb", 128);
        conf.setInt("yarn.nodemanager.resource.memory-mb", 6144);
        conf.setInt("yarn.nodemanager.resource.cpu-vcores", 4);
        conf.setBoolean("yarn.nodemanager.vmem-check-enabled", false);
        conf.setBoolean("yarn.nodemanager.pmem-check-enabled", false);
        conf.set("yarn.nodemanager.disk-health-checker.max-disk-utilization-per-disk-percentage", "99.9");
        yarn = new MiniYARNCluster("yarn-submit-it", 1, 1, 1);
        yarn.init(conf);
        yarn.start();

        // an edge node's HADOOP_CONF_DIR: where the ResourceManager and the NameNode are
        confDir = WORK.resolve("hadoop-conf");
        Files.createDirectories(confDir);
        Configuration client = new Configuration(yarn.getConfig());
        for (String site : new String[]{"core-site.xml", "yarn-site.xml"}) {
            try (OutputStream o = Files.newOutputStream(confDir.resolve(site))) {
                client.writeXml(o);
            }
        }
    }

    @AfterAll
    static void stop() {
        if (yarn != null) yarn.stop();
        if (spark != null) spark.stopAll();
        if (hdfs != null) hdfs.shutdown();
    }

    /** Spark settings this test cluster needs, as --conf pairs. */
    private static Map<String, String> testSettings() {
        String flags = String.join(" ", SparkDistribution.jvmFlags()), javaHome = SparkDistribution.javaHome();
        Map<String, String> c = new LinkedHashMap<>();
        c.put("spark.ui.enabled", "false");
        c.put("spark.driver.host", "127.0.0.1");
        // the MiniYARNCluster offers 4 GB: in cluster mode the driver's container and both executors' must fit at once,
        // since training runs as barrier stages that need a task slot per rank (train.partitions = 2)
        c.put("spark.driver.memory", "768m");
        c.put("spark.executor.memory", "768m");
        c.put("spark.executor.instances", "2");
        c.put("spark.executor.cores", "1");
        c.put("spark.driver.extraJavaOptions", flags);
        c.put("spark.yarn.am.extraJavaOptions", flags);
        // the node's Spark: containers use SPARK_HOME's jars instead of uploading them
        c.put("spark.yarn.jars", "local:" + spark.home.resolve("jars") + "/*");
        c.put("spark.yarn.appMasterEnv.JAVA_HOME", javaHome);
        c.put("spark.executorEnv.JAVA_HOME", javaHome);
        c.put("spark.yarn.appMasterEnv.SPARK_LOCAL_IP", "127.0.0.1");
        c.put("spark.executorEnv.SPARK_LOCAL_IP", "127.0.0.1");
        return c;
    }

    @Test
    void clientModeJobFinishesWithAValidCheckpointInHdfs() throws Exception {
        PretrainSubmission job = new PretrainSubmission(hdfs.getFileSystem(), "yarn-client");
        List<String> args = new ArrayList<>(List.of("--master", "yarn", "--deploy-mode", "client"));
        testSettings().forEach((k, v) -> args.addAll(List.of("--conf", k + "=" + v)));
        args.addAll(job.args(spark.appJar.toString()));
        Path log = WORK.resolve("submit-client.log");
        assertEquals(0, spark.submit(args, confDir, log, 300), "spark-submit exit code; see " + log);
        job.assertFinished();
    }

    /** Cluster mode through cluster-configs/yarn/submit.sh, as an edge node (or its systemd timer) runs it. */
    @Test
    void clusterModeThroughTheSubmitScriptFinishesWithAValidCheckpointInHdfs() throws Exception {
        PretrainSubmission job = new PretrainSubmission(hdfs.getFileSystem(), "yarn-cluster");
        StringBuilder settings = new StringBuilder("# the IT cluster's settings in place of cluster-configs/yarn/spark-defaults.conf (no GPUs here)\n");
        settings.append("spark.master yarn\nspark.submit.deployMode cluster\n");
        testSettings().forEach((k, v) -> settings.append(k).append(' ').append(v).append('\n'));
        Path propsFile = WORK.resolve("yarn-it.conf");
        Files.writeString(propsFile, settings);
        Path log = WORK.resolve("submit-cluster.log");
        int code = spark.run(List.of("bash", Path.of("../cluster-configs/yarn/submit.sh").toAbsolutePath().normalize().toString(), "pretrain",
                        job.configUri(), "--set", "train.lr=0.003"),
                Map.of("RLHF_APP_JAR", spark.appJar.toString(), "RLHF_PROPERTIES", propsFile.toString()), confDir, log, 300);
        assertEquals(0, code, "submit.sh exit code; see " + log);
        job.assertFinished();
    }
}
