package org.sparkrlhf.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
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
        Configuration dfsConf = new Configuration();
        dfsConf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, WORK.resolve("dfs-" + System.nanoTime()).toString());
        hdfs = new MiniDFSCluster.Builder(dfsConf).numDataNodes(1).build();
        hdfs.waitActive();

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

    private static List<String> submitArgs(String deployMode, PretrainSubmission job) {
        String flags = String.join(" ", SparkDistribution.jvmFlags()), javaHome = SparkDistribution.javaHome();
        List<String> a = new ArrayList<>(List.of("--master", "yarn", "--deploy-mode", deployMode,
                "--conf", "spark.ui.enabled=false", "--conf", "spark.driver.host=127.0.0.1",
                "--conf", "spark.driver.memory=1g", "--conf", "spark.executor.memory=1g",
                "--conf", "spark.executor.instances=2", "--conf", "spark.executor.cores=1",
                "--conf", "spark.driver.extraJavaOptions=" + flags, "--conf", "spark.yarn.am.extraJavaOptions=" + flags,
                // the node's Spark: containers use SPARK_HOME's jars instead of uploading them
                "--conf", "spark.yarn.jars=local:" + spark.home.resolve("jars") + "/*",
                "--conf", "spark.yarn.appMasterEnv.JAVA_HOME=" + javaHome, "--conf", "spark.executorEnv.JAVA_HOME=" + javaHome,
                "--conf", "spark.yarn.appMasterEnv.SPARK_LOCAL_IP=127.0.0.1", "--conf", "spark.executorEnv.SPARK_LOCAL_IP=127.0.0.1"));
        a.addAll(job.args(spark.appJar.toString()));
        return a;
    }

    @Test
    void clientModeJobFinishesWithAValidCheckpointInHdfs() throws Exception {
        PretrainSubmission job = new PretrainSubmission(hdfs.getFileSystem(), "yarn-client");
        Path log = WORK.resolve("submit-client.log");
        assertEquals(0, spark.submit(submitArgs("client", job), confDir, log, 300), "spark-submit exit code; see " + log);
        job.assertFinished();
    }

    @Test
    void clusterModeJobFinishesWithAValidCheckpointInHdfs() throws Exception {
        PretrainSubmission job = new PretrainSubmission(hdfs.getFileSystem(), "yarn-cluster");
        Path log = WORK.resolve("submit-cluster.log");
        assertEquals(0, spark.submit(submitArgs("cluster", job), confDir, log, 300), "spark-submit exit code; see " + log);
        job.assertFinished();
    }
}
