package org.sparkrlhf.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** spark-submit of the application jar to a standalone cluster (master and worker JVMs), checkpoints in HDFS. */
class StandaloneSubmitIT {
    static final Path WORK = Path.of("target/it-standalone").toAbsolutePath();
    static SparkDistribution spark;
    static MiniDFSCluster hdfs;
    static String master;

    @BeforeAll
    static void start() throws Exception {
        Files.createDirectories(WORK);
        spark = new SparkDistribution(Path.of("target/it-spark-home"));
        hdfs = SparkDistribution.startHdfs(WORK);

        int port = SparkDistribution.freePort();
        master = "spark://127.0.0.1:" + port;
        Path masterLog = WORK.resolve("master.log"), workerLog = WORK.resolve("worker.log");
        spark.start("org.apache.spark.deploy.master.Master", List.of("--host", "127.0.0.1", "--port", String.valueOf(port),
                "--webui-port", String.valueOf(SparkDistribution.freePort())), null, masterLog, Map.of());
        SparkDistribution.awaitLog(masterLog, "I have been elected leader", 60);
        spark.start("org.apache.spark.deploy.worker.Worker", List.of("--host", "127.0.0.1", "--cores", "3", "--memory", "4g",
                "--webui-port", String.valueOf(SparkDistribution.freePort()), "--work-dir", WORK.resolve("work").toString(), master),
                null, workerLog, Map.of());
        SparkDistribution.awaitLog(workerLog, "Successfully registered with master", 60);
    }

    @AfterAll
    static void stop() {
        if (spark != null) spark.stopAll();
        if (hdfs != null) hdfs.shutdown();
    }

    private static List<String> submitArgs(String deployMode, PretrainSubmission job) {
        String flags = String.join(" ", SparkDistribution.jvmFlags());
        List<String> a = new ArrayList<>(List.of("--master", master, "--deploy-mode", deployMode,
                "--conf", "spark.driver.host=127.0.0.1", "--conf", "spark.ui.enabled=false",
                "--conf", "spark.executor.memory=1g", "--conf", "spark.executor.cores=1", "--conf", "spark.cores.max=2",
                "--conf", "spark.driver.extraJavaOptions=" + flags,
                "--conf", "spark.standalone.submit.waitAppCompletion=true"));
        a.addAll(job.args(spark.appJar.toString()));
        return a;
    }

    @ParameterizedTest(name = "{0} mode")
    @ValueSource(strings = {"client", "cluster"})
    void jobFinishesWithAValidCheckpointInHdfs(String deployMode) throws Exception {
        PretrainSubmission job = new PretrainSubmission(hdfs.getFileSystem(), "standalone-" + deployMode);
        Path log = WORK.resolve("submit-" + deployMode + ".log");
        assertEquals(0, spark.submit(submitArgs(deployMode, job), null, log, 300), "spark-submit exit code; see " + log);
        job.assertFinished();
    }
}
